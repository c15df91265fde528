// IpAddr from an address literal ("192.0.2.1", "2001:db8::1"), for unit tests.
#pragma once

#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "dataplane/packet.h"

namespace haystack::test {

inline IpAddr ip(const std::string& s) {
  uint8_t b[16];
  if (s.find(':') != std::string::npos) {
    BOOST_REQUIRE(inet_pton(AF_INET6, s.c_str(), b) == 1);
    return IpAddr::from_v6(b);
  }
  BOOST_REQUIRE(inet_pton(AF_INET, s.c_str(), b) == 1);
  return IpAddr::from_v4(b);
}

}  // namespace haystack::test
