// haystack-hitlist build: the daily hitlist pipeline of METHODS §3 (docs/hitlist-builder.md).
// Each step is a small pure function so it can be tested on hand-computed inputs;
// build() chains them, write_bundle()/write_report() render the result deterministically.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "signatures/catalog.h"
#include "signatures/dns_records.h"
#include "signatures/hitlist.h"
#include "signatures/psl.h"

namespace haystack::hitlist {

struct IpLess {
  bool operator()(const IpAddr& a, const IpAddr& b) const { return ip_less(a, b); }
};
using IpSet = std::set<IpAddr, IpLess>;

// ---- Step 1: drop generic domains -------------------------------------------------------
// A catalog domain after merging its lines: the non-generic uses and the union of their ports.
struct Candidate {
  std::string fqdn;
  std::vector<std::pair<size_t, Role>> uses;  // (catalog service index, role), by index
  std::vector<PortSpec> ports;                // sorted; empty = any/any
};
struct GenericDrop {
  size_t generic_uses = 0;                   // `generic` lines removed
  std::vector<std::string> dropped_domains;  // domains left with no use, sorted
};
// Candidates sorted by fqdn.
std::vector<Candidate> drop_generic(const Catalog& c, GenericDrop& dropped);

// ---- Step 2: second-level domain ----------------------------------------------------------
// The registrable domain (public suffix + 1 label); a name that is itself a public suffix
// is its own group (it cannot share an owner with anything else).
std::string sld_of(const PublicSuffixList& psl, const std::string& name);

// ---- DNS observations within the window -----------------------------------------------------
class DnsGraph {
 public:
  // Keeps records whose [first_seen, last_seen] overlaps [from, until] (Unix seconds).
  DnsGraph(const std::vector<DnsRecord>& records, int64_t from, int64_t until);
  // Addresses `name` resolves to, following CNAMEs up to kMaxCnameDepth hops.
  IpSet resolve(const std::string& name) const;
  // Every name that resolves to `ip`, including the intermediate names of CNAME chains.
  std::set<std::string> names_on(const IpAddr& ip) const;
  size_t records_used() const { return used_; }

  static constexpr int kMaxCnameDepth = 16;

 private:
  std::map<std::string, IpSet> addrs_;
  std::map<std::string, std::set<std::string>> cname_to_;    // owner -> targets
  std::map<std::string, std::set<std::string>> cname_from_;  // target -> owners
  std::map<IpAddr, std::set<std::string>, IpLess> owners_;   // ip -> A/AAAA owners
  size_t used_ = 0;
};

// ---- Step 3: dedicated or shared IP -------------------------------------------------------
struct IpVerdict {
  bool dedicated = false;  // exactly one SLD among the names on the IP
  std::set<std::string> slds;
};
IpVerdict classify_ip(const DnsGraph& g, const PublicSuffixList& psl, const IpAddr& ip);

// ---- Step 4: keep a domain only if all its IPs are dedicated -------------------------------
enum class DomainStatus : uint8_t { kDedicated, kShared, kUnresolved };
struct DomainVerdict {
  DomainStatus status = DomainStatus::kUnresolved;
  IpSet ips;
  IpSet shared_ips;
};
DomainVerdict classify_domain(const DnsGraph& g, const std::string& fqdn,
                              const std::map<IpAddr, IpVerdict, IpLess>& ip_verdicts);

// ---- Step 5: detection level of each service ----------------------------------------------
struct ServiceTally {
  size_t primary = 0, primary_dedicated = 0;
  size_t support = 0, support_dedicated = 0;
};
struct ServiceLevel {
  bool sufficient = false;  // >= min_primary dedicated primary domains
  // Nearest ancestor-or-self that is sufficient (catalog index), or nullopt: its devices are
  // detected at that service's level, or not at all.
  std::optional<size_t> detected_as;
};
std::vector<ServiceLevel> service_levels(const Catalog& c, const std::vector<ServiceTally>& t,
                                         size_t min_primary);

// ---- Step 6: drop services, saying why ----------------------------------------------------
std::string drop_reason(const ServiceTally& t, size_t min_primary,
                        const std::vector<std::string>& failed_primaries);

// ---- The whole pipeline -------------------------------------------------------------------
struct BuildOptions {
  std::string date;          // YYYY-MM-DD the bundle is valid for
  int window_days = 1;       // DNS records seen in [date-(window_days-1), date] count
  size_t min_primary = 1;    // dedicated primary domains a service needs (>= 1)
  std::string catalog_name;  // for provenance and the report
  std::vector<std::string> dns_names;
  std::string psl_name;
  bool psl_icann_only = false;
};

struct DroppedService {
  size_t service;  // catalog index
  std::string reason;
};

struct BuildResult {
  BuildOptions opt;
  int64_t window_from = 0, window_until = 0;
  // Inputs.
  size_t catalog_services = 0, catalog_lines = 0, catalog_domains = 0;
  size_t dns_records = 0, dns_a = 0, dns_aaaa = 0, dns_cname = 0, dns_in_window = 0;
  size_t psl_rules = 0;
  // Step results.
  GenericDrop generic;
  std::vector<Candidate> candidates;
  std::set<std::string> candidate_slds;
  size_t public_suffix_names = 0;
  std::map<IpAddr, IpVerdict, IpLess> ips;
  std::map<std::string, DomainVerdict> domains;  // by fqdn
  std::vector<ServiceTally> tallies;             // by catalog index
  std::vector<ServiceLevel> levels;
  std::vector<DroppedService> dropped;  // sorted by key
  Bundle bundle;                        // the output model (ids in output order)
};

// Throws HitlistError on inconsistent options (date, window, min_primary).
BuildResult build(const Catalog& c, const std::vector<std::vector<DnsRecord>>& dns,
                  const PublicSuffixList& psl, const BuildOptions& opt);

std::string write_bundle(const BuildResult& r);
std::string write_report(const BuildResult& r, const Catalog& c);

// Days since 1970-01-01 for a valid YYYY-MM-DD.
int64_t days_from_date(const std::string& yyyy_mm_dd);
std::string date_from_days(int64_t days);

}  // namespace haystack::hitlist
