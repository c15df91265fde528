// Receive-side scaling, in software: the Toeplitz hash NICs compute, and the symmetric
// key Haystack programs into them. With the repeating 0x6d5a key, hash(a->b) equals
// hash(b->a), so both directions of a flow reach the same queue and worker.
// Used to configure ports, to verify the NIC's choice, and by haystack-pcap-split to
// spread one capture over N queue files exactly as the NIC would.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/packet.h"

namespace haystack {

inline constexpr size_t kRssKeyLen = 40;
std::array<uint8_t, kRssKeyLen> symmetric_rss_key();

uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len);

// Hash of the RSS tuple a NIC uses for this packet: IPs + ports for unfragmented
// TCP/UDP, IPs only otherwise; 0 for non-IP frames.
uint32_t rss_hash(const ParsedPacket& p, const std::array<uint8_t, kRssKeyLen>& key);

// Queue a RETA of `reta_size` entries filled round-robin over `queues` selects.
inline uint32_t rss_queue(uint32_t hash, uint32_t reta_size, uint32_t queues) {
  return (hash % reta_size) % queues;
}

}  // namespace haystack
