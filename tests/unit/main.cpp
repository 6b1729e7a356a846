// Boost.Test entry point for the pure C++ logic of crm_core.
#define BOOST_TEST_MODULE crm_core_unit
#include <boost/test/unit_test.hpp>
