#define BOOST_TEST_MODULE haystack_unit
#include <boost/test/unit_test.hpp>
