#include <boost/test/unit_test.hpp>

#include "telemetry/log_limiter.h"

using haystack::LogLimiter;

BOOST_AUTO_TEST_SUITE(log_limiter)

BOOST_AUTO_TEST_CASE(burst_per_key_and_window_then_reports_suppressed) {
  constexpr uint64_t kS = 1'000'000'000ULL;
  LogLimiter l(2, 10 * kS);
  uint64_t sup = 99;
  BOOST_TEST(l.allow("rx_drops/in0", 0, sup));
  BOOST_TEST(sup == 0u);
  BOOST_TEST(l.allow("rx_drops/in0", 1 * kS, sup));
  BOOST_TEST(!l.allow("rx_drops/in0", 2 * kS, sup));
  BOOST_TEST(!l.allow("rx_drops/in0", 9 * kS, sup));
  BOOST_TEST(l.allow("rx_drops/in1", 9 * kS, sup));  // another key has its own budget
  BOOST_TEST(sup == 0u);
  BOOST_TEST(l.allow("rx_drops/in0", 10 * kS, sup));  // new window: says 2 were dropped
  BOOST_TEST(sup == 2u);
  BOOST_TEST(l.allow("rx_drops/in0", 11 * kS, sup));
  BOOST_TEST(sup == 0u);
  BOOST_TEST(l.suppressed_total() == 2u);
  LogLimiter off(0);
  for (int i = 0; i < 100; ++i) BOOST_TEST(off.allow("k", 0, sup));
}

BOOST_AUTO_TEST_SUITE_END()
