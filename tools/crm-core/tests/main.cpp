// Boost.Test entry point for crm-core's pure logic (CSV, records, progress, demo data).
#define BOOST_TEST_MODULE crm_core_tool_unit
#include <boost/test/unit_test.hpp>
