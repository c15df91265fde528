#include "control/learning_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>

#include "signatures/hitlist_builder.h"
#include "signatures/hitlist_loader.h"

namespace haystack {

namespace {

using hitlist::DnsRecord;
using hitlist::RrType;

// Writes `text` to `path` through a temporary file, so readers never see half a file.
bool write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

const char* rr_name(RrType t) {
  return t == RrType::kA ? "A" : t == RrType::kAaaa ? "AAAA" : "CNAME";
}

}  // namespace

LearningPipeline::LearningPipeline(const Config& cfg, uint32_t workers)
    : cfg_(cfg), bin_ns_(uint64_t(cfg.bin_seconds) * 1'000'000'000ULL) {
  const LearningConfig& l = cfg.learning;
  try {
    psl_ = hitlist::PublicSuffixList::load(l.psl);
  } catch (const hitlist::HitlistError& e) {
    throw ConfigError(cfg.source_file, l.line, "learning.psl", e.what());
  }
  if (!l.backend_patterns.empty()) {
    try {
      spec_.backend = hitlist::load_backend_patterns(l.backend_patterns);
    } catch (const hitlist::HitlistError& e) {
      throw ConfigError(e.file(), e.line(), "learning.backend_patterns: " + e.field(), e.message());
    }
    spec_.backend_file = l.backend_patterns;
  }
  spec_.options.digit_wildcards = l.digit_wildcards;
  spec_.options.psl = &psl_;
  spec_.options.scratch_slots = workers;
  dir_ = cfg.state_dir + "/learning";
  std::filesystem::create_directories(dir_);
}

LearningSettings LearningPipeline::worker_settings() const {
  LearningSettings s;
  s.enabled = true;
  s.every_packet = cfg_.learning.every_packet;
  s.dns = cfg_.learning.dns;
  s.sni = cfg_.learning.sni;
  return s;
}

void LearningPipeline::on_generation(GenerationPtr g) {
  gens_[g->number] = g;
  current_ = std::move(g);
}

void LearningPipeline::forget(uint64_t generation) {
  if (current_ && generation == current_->number) return;
  gens_.erase(generation);
}

void LearningPipeline::add(const LearnRecord& r) {
  ++records_;
  ++by_kind_[size_t(r.kind) & 3];
  const std::string owner(r.owner_name());
  // Resolve the matched patterns through the generation that produced them.
  if (r.n_matches) {
    auto it = gens_.find(r.generation);
    const hitlist::NameMatcher* m =
        it != gens_.end() && it->second->names ? it->second->names.get() : nullptr;
    if (m == nullptr) {
      ++unknown_generation_;
    } else {
      for (uint8_t k = 0; k < r.n_matches && k < LearnRecord::kMaxMatches; ++k) {
        const LearnRecord::MatchRef& ref = r.matches[k];
        if (ref.pattern >= m->size()) continue;
        const hitlist::NamePattern& p = m->pattern(ref.pattern);
        const std::string name = ref.on_target ? std::string(r.target_name()) : owner;
        if (matched_[name].emplace(p.source, p.label).second) {
          (p.source == hitlist::NameSource::kCatalogDomain ? matches_catalog_ : matches_backend_)++;
          dirty_ = true;
        }
      }
    }
  }
  DnsRecord d;
  d.name = owner;
  std::string value;
  if (r.kind == LearnKind::kDnsCname) {
    d.type = RrType::kCname;
    d.target = std::string(r.target_name());
    if (d.target == d.name) return;  // the builder rejects self-loops
    value = d.target;
  } else {
    d.type = r.ip.v4 ? RrType::kA : RrType::kAaaa;
    d.addr = r.ip;
    // An IPv4-mapped AAAA answer is an IPv4 address to the builder.
    if (!r.ip.v4 && IpAddr::from_v4(r.ip.b.data() + 12).b == r.ip.b) {
      d.type = RrType::kA;
      d.addr = IpAddr::from_v4(r.ip.b.data() + 12);
    }
    value = hitlist::format_ip(d.addr);
  }
  const int64_t t = int64_t(r.ts_ns / 1'000'000'000ULL);
  const std::string key = d.name + " " + rr_name(d.type) + " " + value;
  auto it = bindings_.find(key);
  if (it == bindings_.end()) {
    if (bindings_.size() >= cfg_.learning.max_bindings) {
      ++bindings_dropped_;
      return;
    }
    d.first_seen = d.last_seen = t;
    bindings_.emplace(key, std::move(d));
    dirty_ = true;
  } else {
    if (t < it->second.first_seen) it->second.first_seen = t, dirty_ = true;
    if (t > it->second.last_seen) it->second.last_seen = t, dirty_ = true;
  }
}

std::string LearningPipeline::dns_text() const {
  std::string out = "dns 1\n# learned on the wire by haystackd (docs/learning.md)\n";
  for (const auto& [key, d] : bindings_) {
    out += key;
    out += " " + std::to_string(d.first_seen) + " " + std::to_string(d.last_seen) + "\n";
  }
  return out;
}

// Rebuilds the per-IP view: the builder's graph over every learned binding, one verdict
// per learned address.
void LearningPipeline::classify() {
  std::vector<DnsRecord> recs;
  recs.reserve(bindings_.size());
  for (const auto& [k, d] : bindings_) recs.push_back(d);
  hitlist::DnsGraph g(recs, 0, std::numeric_limits<int64_t>::max());
  ips_.clear();
  for (const DnsRecord& d : recs) {
    if (d.type == RrType::kCname || ips_.count(d.addr)) continue;
    IpState s;
    s.verdict = hitlist::classify_ip(g, psl_, d.addr);
    s.names = g.names_on(d.addr);
    for (const std::string& n : s.names) {
      auto m = matched_.find(n);
      if (m == matched_.end()) continue;
      for (const auto& [src, label] : m->second)
        (src == hitlist::NameSource::kCatalogDomain ? s.catalog : s.providers).insert(label);
    }
    ips_.emplace(d.addr, std::move(s));
  }
}

void LearningPipeline::write_logs() {
  std::string eps;
  for (const auto& [ip, s] : ips_) {
    nlohmann::ordered_json j;
    j["ip"] = hitlist::format_ip(ip);
    j["dedicated"] = s.verdict.dedicated;
    j["slds"] = s.verdict.slds;
    j["names"] = s.names;
    j["catalog_domains"] = s.catalog;
    j["backend_providers"] = s.providers;
    eps += j.dump() + "\n";
  }
  const bool ok = write_atomically(dir_ + "/learned.dns", dns_text()) &&
                  write_atomically(dir_ + "/endpoints.jsonl", eps);
  if (ok) {
    ++log_writes_;
  } else {
    ++log_write_errors_;
    spdlog::warn("learning: cannot write the logs under {}", dir_);
  }
}

std::optional<hitlist::Bundle> LearningPipeline::add_confirmed(
    const hitlist::Bundle& current, const std::map<IpAddr, IpState, hitlist::IpLess>& ips,
    size_t& added) {
  added = 0;
  std::map<std::string, hitlist::DomainId> by_fqdn;
  for (const auto& d : current.domains) by_fqdn.emplace(d.fqdn, d.id);
  // The protocol/port keys a domain's endpoints use; a domain without endpoints: any/any.
  std::map<hitlist::DomainId, std::set<std::tuple<uint8_t, uint16_t, bool>>> keys;
  for (const auto& e : current.endpoints)
    for (hitlist::DomainId d : e.domains) keys[d].emplace(e.proto, e.port, e.any_port);
  hitlist::Bundle b = current;
  auto find = [&](const IpAddr& a, uint8_t proto, uint16_t port, bool any) -> hitlist::Endpoint* {
    const uint8_t len = a.v4 ? 32 : 128;
    for (auto& e : b.endpoints)
      if (e.addr == a && e.prefix_len == len && e.proto == proto && e.port == port &&
          e.any_port == any)
        return &e;
    return nullptr;
  };
  for (const auto& [ip, s] : ips) {
    if (!s.verdict.dedicated) continue;
    for (const std::string& fqdn : s.catalog) {
      auto d = by_fqdn.find(fqdn);
      if (d == by_fqdn.end()) continue;
      std::set<std::tuple<uint8_t, uint16_t, bool>> ks = keys[d->second];
      if (ks.empty()) ks.emplace(0, 0, true);
      for (const auto& [proto, port, any] : ks) {
        hitlist::Endpoint* e = find(ip, proto, port, any);
        if (e == nullptr) {
          hitlist::Endpoint n;
          n.addr = ip;
          n.prefix_len = ip.v4 ? 32 : 128;
          n.proto = proto;
          n.port = port;
          n.any_port = any;
          n.domains = {d->second};
          b.endpoints.push_back(std::move(n));
          ++added;
        } else if (std::find(e->domains.begin(), e->domains.end(), d->second) == e->domains.end()) {
          e->domains.push_back(d->second);
          ++added;
        }
      }
    }
  }
  if (added == 0) return std::nullopt;
  b.provenance += (b.provenance.empty() ? "" : "\n") + std::to_string(added) +
                  " endpoint entries added by on-the-wire learning";
  return b;
}

std::optional<hitlist::Bundle> LearningPipeline::advance(uint64_t now_ns) {
  const uint64_t bin = bin_ns_ ? now_ns / bin_ns_ : 0;
  if (any_bin_ && bin == last_bin_) return std::nullopt;
  any_bin_ = true;
  last_bin_ = bin;
  if (!dirty_) return std::nullopt;
  dirty_ = false;
  classify();
  write_logs();
  if (!cfg_.learning.add_to_hitlist || !current_) return std::nullopt;
  size_t added = 0;
  auto b = add_confirmed(*current_->bundle, ips_, added);
  if (b) spdlog::info("learning: {} confirmed endpoint entries to add to the hitlist", added);
  return b;
}

void LearningPipeline::finish() {
  classify();
  write_logs();
  dirty_ = false;
}

nlohmann::ordered_json LearningPipeline::summary() const {
  size_t dedicated = 0;
  for (const auto& [ip, s] : ips_) dedicated += s.verdict.dedicated;
  nlohmann::ordered_json j;
  j["records"] = records_;
  j["records_by_kind"] = {
      {"A", by_kind_[0]}, {"AAAA", by_kind_[1]}, {"CNAME", by_kind_[2]}, {"SNI", by_kind_[3]}};
  j["bindings"] = bindings_.size();
  j["bindings_dropped"] = bindings_dropped_;
  j["records_unknown_generation"] = unknown_generation_;
  j["names_matched"] = matched_.size();
  j["matches_catalog"] = matches_catalog_;
  j["matches_backend"] = matches_backend_;
  j["ips"] = ips_.size();
  j["ips_dedicated"] = dedicated;
  j["ips_shared"] = ips_.size() - dedicated;
  j["endpoints_added"] = endpoints_added_;
  j["generations_published"] = generations_published_;
  j["publish_failures"] = publish_failures_;
  j["log_writes"] = log_writes_;
  j["log_write_errors"] = log_write_errors_;
  j["log"] = dir_ + "/learned.dns";
  return j;
}

}  // namespace haystack
