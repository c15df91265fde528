#include "dataplane/pcap_file.h"

#include <pcap/pcap.h>

#include <memory>

namespace haystack {

namespace {
struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};
}  // namespace

PcapContents read_pcap(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {0};
  std::unique_ptr<pcap_t, PcapCloser> p(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err));
  if (!p) throw std::runtime_error(path + ": cannot open capture: " + err);
  PcapContents out;
  out.dlt = pcap_datalink(p.get());
  switch (out.dlt) {
    case DLT_EN10MB: out.link = LinkType::kEthernet; break;
    case DLT_RAW:
    case 228 /* DLT_IPV4 */:
    case 229 /* DLT_IPV6 */: out.link = LinkType::kRawIp; break;
    case DLT_PPP: out.link = LinkType::kPpp; break;
    default:
      throw std::runtime_error(path + ": unsupported link type " + std::to_string(out.dlt));
  }
  pcap_pkthdr* h = nullptr;
  const u_char* bytes = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p.get(), &h, &bytes)) == 1) {
    PcapPacket pkt;
    pkt.ts_ns = uint64_t(h->ts.tv_sec) * 1'000'000'000ULL + uint64_t(h->ts.tv_usec);
    pkt.wire_len = h->len;
    pkt.data.assign(bytes, bytes + h->caplen);
    out.packets.push_back(std::move(pkt));
  }
  if (rc == -1) {
    throw std::runtime_error(path + ": read error after " + std::to_string(out.packets.size()) +
                             " packets: " + pcap_geterr(p.get()));
  }
  return out;
}

void write_pcap(const std::string& path, const std::vector<PcapPacket>& packets, int dlt) {
  std::unique_ptr<pcap_t, PcapCloser> p(
      pcap_open_dead_with_tstamp_precision(dlt, 262144, PCAP_TSTAMP_PRECISION_NANO));
  if (!p) throw std::runtime_error(path + ": pcap_open_dead failed");
  std::unique_ptr<pcap_dumper_t, DumperCloser> d(pcap_dump_open(p.get(), path.c_str()));
  if (!d) throw std::runtime_error(path + ": cannot write: " + pcap_geterr(p.get()));
  for (const auto& pkt : packets) {
    pcap_pkthdr h{};
    h.ts.tv_sec = time_t(pkt.ts_ns / 1'000'000'000ULL);
    h.ts.tv_usec = suseconds_t(pkt.ts_ns % 1'000'000'000ULL);
    h.caplen = uint32_t(pkt.data.size());
    h.len = pkt.wire_len;
    pcap_dump(reinterpret_cast<u_char*>(d.get()), &h, pkt.data.data());
  }
}

}  // namespace haystack
