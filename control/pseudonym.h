// Pseudonymisation of subscriber line ids (ARCHITECTURE "privacy by default").
//
// A line id leaves the appliance as SipHash-2-4 (Aumasson & Bernstein, 128-bit key,
// 64-bit output) over the 17 bytes <16-byte address (IPv4 stored IPv4-mapped), prefix
// length>, printed as 16 lower-case hex digits (the 64-bit value, most significant digit
// first). The key is generated once from /dev/urandom and persisted in
// <state_dir>/pseudonym.key (32 hex digits + newline, mode 0600); later runs load it, so
// ids are stable across restarts. A key file with group/other permission bits, or with
// anything but 32 hex digits, is rejected with an error naming the file. When disabled,
// the id is the raw prefix string ("192.0.2.7/32", "2001:db8:0:100::/56").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "dataplane/packet.h"

namespace haystack {

using SipKey = std::array<uint8_t, 16>;

// SipHash-2-4 of `len` bytes; the key's bytes 0..7 / 8..15 are k0 / k1 (little endian).
uint64_t siphash24(const SipKey& key, const void* data, size_t len);

// "a.b.c.d/len" or the RFC 5952 IPv6 text form + "/len".
std::string prefix_string(const IpAddr& addr, uint8_t len);

class Pseudonymizer {
 public:
  static constexpr const char* kKeyFileName = "pseudonym.key";

  static Pseudonymizer disabled() { return Pseudonymizer(); }
  explicit Pseudonymizer(const SipKey& key) : key_(key), enabled_(true) {}

  // Enabled: load <state_dir>/pseudonym.key, creating it (and state_dir) on first use.
  // Disabled: no key file is touched. Throws std::runtime_error on any failure.
  static Pseudonymizer from_state_dir(const std::filesystem::path& state_dir, bool enabled);

  // Load the key in `file`, or create it atomically (0600) when it does not exist.
  static SipKey load_or_create_key(const std::filesystem::path& file);

  bool enabled() const { return enabled_; }
  // The exported id of the line `addr`/`len` (addr must have its host bits cleared).
  std::string id(const IpAddr& addr, uint8_t len) const;
  // The exported id of a 48-bit MAC: SipHash over "mac:" + its 6 bytes (a different
  // input length from line ids, so the two never collide), or "aa:bb:cc:dd:ee:ff".
  std::string mac_id(uint64_t mac48) const;

 private:
  Pseudonymizer() = default;
  SipKey key_{};
  bool enabled_ = false;
};

}  // namespace haystack
