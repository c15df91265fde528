// haystack-pcap-split: spreads one capture over N per-queue files the way a NIC with
// Haystack's symmetric RSS key and a round-robin RETA would, so a replay with
// `net_pcap0,rx_pcap=q0.pcap,rx_pcap=q1.pcap,...` gives each worker what it would get
// from RSS on a real port. Non-IP frames go to queue 0, as on most NICs.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dataplane/parser.h"
#include "dataplane/pcap_file.h"
#include "dataplane/toeplitz.h"

namespace {
int usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--reta-size N] INPUT.pcap QUEUES OUTPUT_PREFIX\n"
               "Writes OUTPUT_PREFIX0.pcap .. OUTPUT_PREFIX<QUEUES-1>.pcap and prints the\n"
               "packet count per queue. --reta-size defaults to 128.\n",
               prog);
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  uint32_t reta = 128;
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    usage(argv[0]);
    return 0;
  }
  if (args.size() >= 2 && args[0] == "--reta-size") {
    reta = uint32_t(std::strtoul(args[1].c_str(), nullptr, 10));
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.size() != 3 || reta == 0) return usage(argv[0]);
  char* end = nullptr;
  unsigned long queues = std::strtoul(args[1].c_str(), &end, 10);
  if (*end != '\0' || queues == 0 || queues > 128) {
    std::fprintf(stderr, "%s: QUEUES must be 1..128, got '%s'\n", argv[0], args[1].c_str());
    return 2;
  }
  try {
    haystack::PcapContents in = haystack::read_pcap(args[0]);
    std::vector<std::vector<haystack::PcapPacket>> out(queues);
    auto key = haystack::symmetric_rss_key();
    for (auto& pkt : in.packets) {
      haystack::ParsedPacket p;
      uint32_t q = 0;
      if (haystack::parse_packet(pkt.data.data(), pkt.data.size(), p, in.link) ==
          haystack::ParseError::kOk) {
        q = haystack::rss_queue(haystack::rss_hash(p, key), reta, uint32_t(queues));
      }
      out[q].push_back(std::move(pkt));
    }
    for (size_t q = 0; q < queues; ++q) {
      std::string path = args[2] + std::to_string(q) + ".pcap";
      haystack::write_pcap(path, out[q], in.dlt);
      std::printf("%s %zu\n", path.c_str(), out[q].size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
