// TODO(issue 17): delete with the guard() alias in pg_call.hpp.
#pragma once

#include "pg_call.hpp"
