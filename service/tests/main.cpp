// Boost.Test entry point for crm-core-service's pure logic.
#define BOOST_TEST_MODULE crm_core_service_unit
#include <boost/test/unit_test.hpp>
