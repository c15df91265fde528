// Flowtree persistence: a versioned, checksummed binary format that round-trips exactly
// (re-serializing a deserialized tree gives the same bytes) and a JSON dump for people.
//
// Binary layout v2, little-endian (v1, still read: the compress mode byte was 0 and
// kAggregate was bit 7 of the rank byte):
//   "HFTR" | u16 version | u16 flags (bit0: protocol key) | u64 total size incl. CRC |
//   u8 feature set | u8 rank metric | u8 compress mode (FlowtreeConfig::Compress) | u8 0 |
//   u32 budget | f64 p | f64 compress_fraction |
//   u64 seed | u64 rng state | u32 node count |
//   nodes in DFS pre-order, each: u32 parent position (root: 0xffffffff) | u8 depth |
//     u8 families (src | dst << 4) | u8 proto | [16 B src] [16 B dst] [u16 sport]
//     [u16 dport] (only the set's features) | i64 packets | i64 bytes | i64 flows |
//   u32 CRC32C of all preceding bytes.
// pop is not stored: deserialize recomputes it with stats().
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/flowtree/flowtree.h"

namespace haystack::flowtree {

inline constexpr uint16_t kFormatVersion = 2;

struct FlowtreeFormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<uint8_t> serialize(const Flowtree& t);
// Throws FlowtreeFormatError naming the problem (truncated, bad magic, unsupported
// version, checksum mismatch, malformed node).
Flowtree deserialize(std::span<const uint8_t> bytes);

// {"feature_set","protocol","budget","size","total":{...},"nodes":[{"id","parent","key",
//  "depth","comp_pop":{packets,bytes,flows},"pop":{...}}]} with nodes in pre-order.
nlohmann::json to_json(const Flowtree& t);

uint32_t crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace haystack::flowtree
