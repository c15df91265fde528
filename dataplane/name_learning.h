// On-the-wire learning, worker stage (METHODS §4, docs/learning.md): on every packet (or
// only IoT-sampled ones), parse DNS responses (UDP/TCP source port 53) and TLS ClientHellos
// (TCP, any port), match their names with the hitlist generation's NameMatcher, and hand
// the bindings of matching messages to control as fixed-size LearnRecords over a
// per-worker ring. For a DNS response that has at least one matching name (question, CNAME
// owner or target, A/AAAA owner), every A, AAAA and CNAME answer is sent, so control sees
// the whole CNAME chain it needs for the dedicated/shared decision. For a ClientHello the
// binding is (server name, destination address). Nothing here allocates, locks or blocks:
// a full ring is counted (learning_ring_full).
#pragma once

#include <cstdint>

#include "dataplane/dns_message.h"
#include "dataplane/packet.h"
#include "dataplane/tls_sni.h"
#include "dataplane/worker_counters.h"

namespace haystack {

namespace hitlist {
class NameMatcher;
}

enum class LearnKind : uint8_t { kDnsA = 0, kDnsAaaa = 1, kDnsCname = 2, kSni = 3 };
std::string_view learn_kind_name(LearnKind k);  // "A" "AAAA" "CNAME" "SNI"

// One learned binding: owner -> address (A, AAAA, SNI) or owner -> target (CNAME), with
// the name-matcher patterns its names matched. Plain data, copied into the ring.
struct alignas(8) LearnRecord {
  static constexpr int kMaxMatches = 4;
  struct MatchRef {
    uint32_t pattern = 0;   // NameMatcher pattern id of `generation`
    uint8_t on_target = 0;  // 1: the CNAME target matched, 0: the owner
    uint8_t pad[3] = {};
  };
  uint64_t ts_ns = 0;       // packet time
  uint64_t generation = 0;  // hitlist generation whose matcher produced the pattern ids
  IpAddr ip;                // A/AAAA value, or the ClientHello's destination
  uint32_t ttl = 0;         // DNS TTL (seconds); 0 for SNI
  uint32_t worker = 0;
  LearnKind kind = LearnKind::kDnsA;
  uint8_t n_matches = 0;
  uint8_t owner_len = 0;
  uint8_t target_len = 0;  // CNAME only
  MatchRef matches[kMaxMatches];
  char owner[DnsName::kMaxLen + 1];
  char target[DnsName::kMaxLen + 1];

  std::string_view owner_name() const { return {owner, owner_len}; }
  std::string_view target_name() const { return {target, target_len}; }
};
static_assert(sizeof(LearnRecord) % 8 == 0, "rte_ring elements are multiples of 4 bytes");

// Where records go: an SPSC rte_ring in the DPDK adapter, a vector in tests.
class LearnSink {
 public:
  virtual ~LearnSink() = default;
  // False when full; the caller counts the record as dropped.
  virtual bool push(const LearnRecord& r) = 0;
};

struct LearningSettings {
  bool enabled = false;
  bool every_packet = true;  // false: only packets kept by the IoT sampler
  bool dns = true;
  bool sni = true;
  LearnSink* sink = nullptr;
  // Fixed matcher when the worker has no HitlistSource (tests); otherwise the worker takes
  // the matcher of the generation it adopts at each bin.
  const hitlist::NameMatcher* names = nullptr;
};

// Per-worker learning state: the parse buffers, preallocated once.
class NameLearner {
 public:
  NameLearner(uint32_t worker, const LearningSettings& s) : worker_(worker), s_(s) {}
  void set_matcher(const hitlist::NameMatcher* m) { s_.names = m; }
  const LearningSettings& settings() const { return s_; }

  // One parsed IP packet of `frame`.
  void observe(const ParsedPacket& p, const uint8_t* frame, uint64_t ts_ns, uint64_t generation,
               WorkerCounters& c);

 private:
  void on_dns(const ParsedPacket& p, const uint8_t* payload, uint64_t ts_ns, uint64_t generation,
              WorkerCounters& c);
  void on_sni(const ParsedPacket& p, const uint8_t* payload, uint64_t ts_ns, uint64_t generation,
              WorkerCounters& c);
  void push(WorkerCounters& c);

  uint32_t worker_;
  LearningSettings s_;
  DnsResponse dns_;
  DnsName sni_;
  LearnRecord rec_;
  // Pattern ids per name of the current DNS response.
  uint8_t n_ids_[DnsResponse::kMaxNames];
  uint32_t ids_[DnsResponse::kMaxNames][LearnRecord::kMaxMatches];
};

}  // namespace haystack
