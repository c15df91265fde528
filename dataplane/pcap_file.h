// Offline pcap reading and writing (libpcap), for tools and tests. Not on the packet path:
// the appliance itself receives through DPDK ethdev only.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/parser.h"

namespace haystack {

struct PcapPacket {
  uint64_t ts_ns = 0;
  uint32_t wire_len = 0;
  std::vector<uint8_t> data;  // captured bytes
};

struct PcapContents {
  LinkType link = LinkType::kEthernet;
  int dlt = 0;  // libpcap DLT_* value
  std::vector<PcapPacket> packets;
};

// Reads a whole capture (pcap or pcapng). Throws std::runtime_error naming the file.
PcapContents read_pcap(const std::string& path);

// Writes Ethernet (or the given DLT) packets with nanosecond timestamps.
void write_pcap(const std::string& path, const std::vector<PcapPacket>& packets, int dlt = 1);

}  // namespace haystack
