// LearningPipeline: control's half of on-the-wire learning (METHODS §4, docs/learning.md).
// Drains the workers' LearnRecords, keeps every distinct binding (owner, rrtype, value)
// with its first/last time, resolves the matched patterns through the generation that
// produced them, and at most once per bin:
//   * rewrites <state_dir>/learning/learned.dns — the bindings in the builder's `dns 1`
//     format (SNI bindings as A/AAAA), so `haystack-hitlist build --dns` reads it as is;
//   * classifies every learned server IP as dedicated or shared exactly as the builder
//     does (all names on the IP, followed through the learned CNAMEs, share one SLD by
//     the public suffix list) and rewrites <state_dir>/learning/endpoints.jsonl;
//   * with learning.add_to_hitlist, returns the current bundle plus the confirmed
//     endpoints (dedicated IP, a name matching a catalog domain) that it lacks, for the
//     daemon to publish as the next generation through the RCU reload path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "dataplane/name_learning.h"
#include "signatures/dns_records.h"
#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_generation.h"
#include "signatures/psl.h"

namespace haystack {

class LearningPipeline {
 public:
  using GenerationPtr = std::shared_ptr<const hitlist::Generation>;

  // Loads the public suffix list and the backend patterns (errors: ConfigError naming
  // the learning key, or the pattern file's line), creates <state_dir>/learning.
  LearningPipeline(const Config& cfg, uint32_t workers);

  // What every generation's name matcher is built from (IotPipeline::load uses it).
  const hitlist::NameMatcherSpec& matcher_spec() const { return spec_; }
  // Settings for the workers (the daemon adds each worker's ring as the sink).
  LearningSettings worker_settings() const;

  // A generation the workers may now adopt; records of it resolve until forget().
  void on_generation(GenerationPtr g);
  void forget(uint64_t generation);
  const GenerationPtr& current() const { return current_; }

  void add(const LearnRecord& r);
  // Every worker has moved past now_ns. Once per bin: writes the logs if anything
  // changed and, with add_to_hitlist, returns the bundle of the next generation when
  // confirmed endpoints are missing from the current one.
  std::optional<hitlist::Bundle> advance(uint64_t now_ns);
  void finish();
  void endpoints_published(size_t n) {
    endpoints_added_ += n;
    ++generations_published_;
  }
  void publish_failed() { ++publish_failures_; }
  nlohmann::ordered_json summary() const;

  // Pure parts, for tests: the bundle with the confirmed endpoints of `learned` added
  // (nullopt when nothing is missing).
  struct IpState {
    hitlist::IpVerdict verdict;
    std::set<std::string> names;      // every name on the IP (through CNAMEs)
    std::set<std::string> catalog;    // catalog domains matched by those names
    std::set<std::string> providers;  // backend providers matched by those names
  };
  static std::optional<hitlist::Bundle> add_confirmed(
      const hitlist::Bundle& current, const std::map<IpAddr, IpState, hitlist::IpLess>& ips,
      size_t& added);
  const std::map<IpAddr, IpState, hitlist::IpLess>& ips() const { return ips_; }
  std::string dns_text() const;  // the learned.dns content

 private:
  void classify();
  void write_logs();

  const Config& cfg_;
  hitlist::NameMatcherSpec spec_;
  hitlist::PublicSuffixList psl_;
  std::string dir_;
  uint64_t bin_ns_;
  GenerationPtr current_;
  std::map<uint64_t, GenerationPtr> gens_;
  // "owner TYPE value" -> record with first/last seen (Unix seconds).
  std::map<std::string, hitlist::DnsRecord> bindings_;
  // name -> (source, label) of the patterns it matched.
  std::map<std::string, std::set<std::pair<hitlist::NameSource, std::string>>> matched_;
  std::map<IpAddr, IpState, hitlist::IpLess> ips_;
  bool dirty_ = false;
  uint64_t last_bin_ = 0;
  bool any_bin_ = false;
  // Counters.
  uint64_t records_ = 0, bindings_dropped_ = 0, unknown_generation_ = 0;
  uint64_t matches_catalog_ = 0, matches_backend_ = 0;
  uint64_t by_kind_[4] = {};
  uint64_t log_writes_ = 0, log_write_errors_ = 0;
  uint64_t endpoints_added_ = 0, generations_published_ = 0, publish_failures_ = 0;
};

}  // namespace haystack
