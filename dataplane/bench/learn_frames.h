// Frames that the learning stage of `haystack-bench worker` parses: a DNS response (UDP
// from port 53, question + CNAME + A/AAAA, with name compression) and a TLS 1.3-style
// ClientHello carrying a server name among the usual extensions. The surrounding
// Ethernet/IP/L4 headers follow the same subscriber/remote layout as the bench's other
// synthetic frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace haystack::bench {

// Endpoints of one frame: `sub` is the subscriber address, `remote` the resolver or
// server (4 or 16 bytes each, `v6` picks which).
struct FrameEnds {
  bool v6 = false;
  const uint8_t* sub = nullptr;
  const uint8_t* remote = nullptr;
  uint16_t sub_port = 0;
  uint16_t id = 0;  // DNS id / IP id
};

// Resolver -> subscriber DNS response for `qname`: answers `qname` CNAME `target`, then
// `target` A (v4) or AAAA (v6) `addr` (4 or 16 bytes). Returns the frame length.
uint32_t dns_response_frame(const FrameEnds& e, std::string_view qname, std::string_view target,
                            const uint8_t* addr, uint8_t* out);

// Subscriber -> server:443 TCP segment holding a ClientHello for `server_name`. Returns
// the frame length.
uint32_t client_hello_frame(const FrameEnds& e, std::string_view server_name, uint8_t* out);

// Room the bench gives these frames: enough for names of up to 60 characters each
// (ClientHello over IPv6: 279 bytes + name). Longer names are not generated.
constexpr uint32_t kMaxLearnFrame = 352;
constexpr size_t kMaxLearnName = 60;

}  // namespace haystack::bench
