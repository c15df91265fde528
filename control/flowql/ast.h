// FlowQL syntax tree (docs/flowql.md): what the parser produces and the executor runs.
// Values are already validated and normalised (prefixes masked, ports as ranges, times as
// UTC seconds); columns are kept so that later checks can point at the query text.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/flowtree/feature_set.h"
#include "dataplane/flowtree/flowtree.h"

namespace haystack::flowql {

enum class Op { kPop, kAll, kDrill, kTop, kHhh, kAbove, kHc };
const char* op_name(Op op);

enum class Feature : uint8_t { kSrcIp, kDstIp, kSrcPort, kDstPort, kProto };
const char* feature_name(Feature f);

// An IP constraint on the IPv4-mapped 128-bit address space; any = no constraint.
struct IpPrefix {
  bool any = true;
  std::array<uint8_t, 16> addr{};  // masked to len
  int len = 0;                     // 0..128 (IPv4 a.b.c.d/n is 96 + n)
};

// One `feature = value`: exactly one of ip / port range / proto applies (by feature).
struct Predicate {
  Feature feature = Feature::kSrcIp;
  IpPrefix ip;
  uint16_t lo = 0, hi = 65535;  // ports
  int proto = -1;               // -1 = ANY
  int column = 0;
};

struct SiteSelection {
  enum class Mode { kAll, kList, kIterate } mode = Mode::kAll;  // kAll merges every site
  std::vector<std::string> sites;                               // kList
};

// A WHERE condition. kSite only exists inside the parser: site_id terms are taken out of
// the condition into Query::sites before the query is returned.
struct Cond {
  enum class Kind { kPred, kAnd, kOr, kSite } kind = Kind::kPred;
  Predicate pred;
  SiteSelection site;
  std::vector<Cond> kids;
  int column = 0;
};

// [from, to) in UTC seconds.
struct Period {
  int64_t from = 0, to = 0;
  int column = 0;
};

struct Query {
  Op op = Op::kPop;
  int64_t k = 0;          // top-K, hc-K
  int64_t threshold = 0;  // above-T
  double phi = 0;         // hhh-P: P / 100
  flowtree::Metric metric = flowtree::Metric::kPackets;
  std::optional<uint32_t> bin_seconds;  // pop(bin15): one answer per sub-interval
  std::vector<Period> periods;
  std::optional<Cond> where;  // flow conditions only (site_id is taken out)
  SiteSelection sites;
  flowtree::FeatureSet feature_set = flowtree::FeatureSet::FULL;
  std::optional<uint32_t> granularity;  // USING 15m: read only bins of this length
};

}  // namespace haystack::flowql
