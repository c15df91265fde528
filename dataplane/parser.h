// Packet parser: Ethernet/VLAN/QinQ/MPLS/PPPoE, IPv4/IPv6 (+ extension headers),
// TCP/UDP/ICMP/ICMPv6, with GRE/VXLAN/GENEVE recognised as outer headers.
// Pure C++: it reads only [data, data+len) and never allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/packet.h"

namespace haystack {

// Why a frame was rejected. Every value has a stable snake_case name (parse_error_name)
// used as the counter label in stats, /metrics and telemetry.
enum class ParseError : uint8_t {
  kOk = 0,
  kTruncatedEthernet,
  kTruncatedVlan,
  kTooManyVlans,
  kTruncatedMpls,
  kMplsStackTooDeep,
  kMplsUnknownPayload,
  kTruncatedPppoe,
  kPppoeNotSession,
  kPppoeNotIp,
  kTruncatedIpv4,
  kBadIpv4Version,
  kBadIpv4HeaderLength,
  kBadIpv4TotalLength,
  kTruncatedIpv6,
  kBadIpv6Version,
  kTruncatedIpv6ExtHeader,
  kIpv6ExtChainTooLong,
  kTruncatedTcp,
  kBadTcpDataOffset,
  kTruncatedUdp,
  kBadUdpLength,
  kTruncatedIcmp,
  kTruncatedPpp,  // LinkType::kPpp frame too short for its address/control/protocol fields
  kCount  // number of reasons; not a reason
};

inline constexpr size_t kParseErrorCount = static_cast<size_t>(ParseError::kCount);

std::string_view parse_error_name(ParseError e);

// Non-IP frames (ARP, LLDP, ...) are not errors: parse returns kOk with l3 == kNone.
enum class LinkType : uint8_t { kEthernet, kRawIp, kPpp };

ParseError parse_packet(const uint8_t* data, size_t len, ParsedPacket& out,
                        LinkType link = LinkType::kEthernet);

}  // namespace haystack
