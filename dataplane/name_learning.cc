#include "dataplane/name_learning.h"

#include <cstring>

#include "signatures/name_matcher.h"

namespace haystack {

namespace {
constexpr uint16_t kDnsPort = 53;
constexpr uint8_t kTlsHandshake = 22;
constexpr uint8_t kTlsClientHello = 1;
}  // namespace

std::string_view learn_kind_name(LearnKind k) {
  switch (k) {
    case LearnKind::kDnsA:
      return "A";
    case LearnKind::kDnsAaaa:
      return "AAAA";
    case LearnKind::kDnsCname:
      return "CNAME";
    case LearnKind::kSni:
      return "SNI";
  }
  return "?";
}

void NameLearner::observe(const ParsedPacket& p, const uint8_t* frame, uint64_t ts_ns,
                          uint64_t generation, WorkerCounters& c) {
  if (!p.has_ports || p.payload_len == 0 || s_.names == nullptr) return;
  const uint8_t* payload = frame + p.payload_offset;
  if (s_.dns && p.sport == kDnsPort && (p.proto == ipproto::kUdp || p.proto == ipproto::kTcp)) {
    on_dns(p, payload, ts_ns, generation, c);
  } else if (s_.sni && p.proto == ipproto::kTcp && payload[0] == kTlsHandshake &&
             (p.payload_len < 6 || payload[5] == kTlsClientHello)) {
    on_sni(p, payload, ts_ns, generation, c);
  }
}

void NameLearner::on_dns(const ParsedPacket& p, const uint8_t* payload, uint64_t ts_ns,
                         uint64_t generation, WorkerCounters& c) {
  const DnsError e = p.proto == ipproto::kUdp ? parse_dns_response(payload, p.payload_len, dns_)
                                              : parse_dns_tcp(payload, p.payload_len, dns_);
  if (e != DnsError::kOk) {
    c.learning_dns_error[size_t(e)].add();
    (dns_error_is_skip(e) ? c.learning_dns_skipped : c.learning_dns_malformed).add();
    return;
  }
  c.learning_dns_responses.add();
  if (dns_.n_answers == 0) return;
  bool any = false;
  for (uint8_t i = 0; i < dns_.n_names; ++i) {
    n_ids_[i] = dns_.names[i].len == 0
                    ? 0
                    : uint8_t(s_.names->match(dns_.names[i].view(), worker_, ids_[i],
                                              LearnRecord::kMaxMatches));
    if (n_ids_[i]) {
      any = true;
      c.learning_names_matched.add();
    }
  }
  if (!any) return;
  for (uint8_t a = 0; a < dns_.n_answers; ++a) {
    const DnsAnswer& ans = dns_.answers[a];
    const DnsName& owner = dns_.names[ans.owner];
    if (owner.len == 0) continue;  // the root owns no endpoint
    rec_.ts_ns = ts_ns;
    rec_.generation = generation;
    rec_.ttl = ans.ttl;
    rec_.worker = worker_;
    rec_.owner_len = owner.len;
    std::memcpy(rec_.owner, owner.text, owner.len + 1u);
    rec_.n_matches = 0;
    auto add = [&](uint8_t name, uint8_t on_target) {
      for (uint8_t k = 0; k < n_ids_[name] && rec_.n_matches < LearnRecord::kMaxMatches; ++k)
        rec_.matches[rec_.n_matches++] = LearnRecord::MatchRef{ids_[name][k], on_target, {}};
    };
    add(ans.owner, 0);
    if (ans.type == DnsRrType::kCname) {
      const DnsName& t = dns_.names[ans.target];
      if (t.len == 0) continue;
      rec_.kind = LearnKind::kDnsCname;
      rec_.ip = IpAddr{};
      rec_.target_len = t.len;
      std::memcpy(rec_.target, t.text, t.len + 1u);
      add(ans.target, 1);
    } else {
      rec_.kind = ans.type == DnsRrType::kA ? LearnKind::kDnsA : LearnKind::kDnsAaaa;
      rec_.ip = ans.addr;
      rec_.target_len = 0;
      rec_.target[0] = '\0';
    }
    push(c);
  }
}

void NameLearner::on_sni(const ParsedPacket& p, const uint8_t* payload, uint64_t ts_ns,
                         uint64_t generation, WorkerCounters& c) {
  const SniError e = parse_client_hello_sni(payload, p.payload_len, sni_);
  if (e != SniError::kOk) {
    c.learning_sni_error[size_t(e)].add();
    (sni_error_is_skip(e) ? c.learning_sni_skipped : c.learning_sni_malformed).add();
    return;
  }
  c.learning_sni_hellos.add();
  uint32_t ids[LearnRecord::kMaxMatches];
  const size_t n = s_.names->match(sni_.view(), worker_, ids, LearnRecord::kMaxMatches);
  if (n == 0) return;
  c.learning_names_matched.add();
  rec_.ts_ns = ts_ns;
  rec_.generation = generation;
  rec_.ttl = 0;
  rec_.worker = worker_;
  rec_.kind = LearnKind::kSni;
  rec_.ip = p.dst;
  rec_.owner_len = sni_.len;
  std::memcpy(rec_.owner, sni_.text, sni_.len + 1u);
  rec_.target_len = 0;
  rec_.target[0] = '\0';
  rec_.n_matches = uint8_t(n);
  for (size_t k = 0; k < n; ++k) rec_.matches[k] = LearnRecord::MatchRef{ids[k], 0, {}};
  push(c);
}

void NameLearner::push(WorkerCounters& c) {
  if (s_.sink != nullptr && s_.sink->push(rec_)) {
    c.learning_records.add();
  } else {
    c.learning_ring_full.add();
  }
}

}  // namespace haystack
