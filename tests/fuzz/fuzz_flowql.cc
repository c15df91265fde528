// libFuzzer target for FlowQL: any text either parses or is rejected with a FlowQLError
// whose column lies within the query (+1 for "at the end"); a parsed query is executed
// against small in-memory trees of two sites, and every point answer must satisfy
// lower <= estimate <= upper. Results are rendered as text and JSON.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string_view>
#include <tuple>

#include "control/flowql/error.h"
#include "control/flowql/executor.h"
#include "control/flowql/parser.h"

using namespace haystack;
using namespace haystack::flowql;
using flowtree::FeatureSet;
using flowtree::Flowtree;

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "invariant violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace {

constexpr int64_t k1000 = 1793527200;  // 2026-11-01 10:00 UTC

// Trees kept in memory: a TreeSource like the state directory, built once.
class MemorySource : public TreeSource {
 public:
  MemorySource() {
    for (int site = 0; site < 2; ++site) {
      for (int bin = 0; bin < 3; ++bin) {
        for (int f = 0; f < flowtree::kFeatureSetCount; ++f) {
          flowtree::FlowtreeConfig c;
          c.feature_set = FeatureSet(f);
          c.budget = 256;
          c.seed = uint64_t(site * 16 + bin);
          Flowtree t(c);
          for (int i = 0; i < 40; ++i) {
            const uint8_t sa[4] = {10, 0, uint8_t(i % 3), uint8_t((i * 37 + site) % 23)};
            const uint8_t da[4] = {192, 168, 0, uint8_t((i * 11 + bin) % 7)};
            const IpAddr s = IpAddr::from_v4(sa), d = IpAddr::from_v4(da);
            t.add(t.hierarchy().leaf(s, d, uint16_t(1000 + i % 5), uint16_t(i % 3 == 0 ? 443 : 53),
                                     6),
                  flowtree::Counters{1 + i % 4, 60 + i, i % 2});
          }
          trees_.emplace(std::make_tuple(site, bin, f), std::move(t));
        }
      }
    }
  }
  std::vector<std::string> sites() const override { return {"s0", "s1"}; }
  std::vector<uint32_t> granularities(const std::string&) const override { return {60, 900}; }
  std::vector<int64_t> bins(const std::string&, uint32_t seconds, FeatureSet, int64_t from,
                            int64_t to) const override {
    std::vector<int64_t> out;
    for (int bin = 0; bin < 3; ++bin) {
      const int64_t start = k1000 + (seconds == 60 ? bin * 60 : bin * 900);
      if (start >= from && start + seconds <= to) out.push_back(start);
    }
    return out;
  }
  Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                FeatureSet fs) const override {
    const int bin = int((start - k1000) / (seconds == 60 ? 60 : 900));
    return trees_.at(std::make_tuple(site == "s0" ? 0 : 1, bin, int(fs)));
  }

 private:
  std::map<std::tuple<int, int, int>, Flowtree> trees_;
};

bool le(const flowtree::Counters& a, const flowtree::Counters& b) {
  return a.packets <= b.packets && a.bytes <= b.bytes && a.flows <= b.flows;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const MemorySource src;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Query q;
  try {
    q = parse(text);
  } catch (const FlowQLError& e) {
    FUZZ_CHECK(e.column() >= 1 && size_t(e.column()) <= size + 1);
    FUZZ_CHECK(!format_error(text, e).empty());
    return 0;
  }
  // Keep each run short: long ranges in short bins only multiply empty answers.
  for (const Period& p : q.periods) {
    if (q.bin_seconds && (p.to - p.from) / *q.bin_seconds > 64) return 0;
  }
  try {
    const Result r = execute(q, src);
    for (const Answer& a : r.answers) {
      if (a.estimate) {
        FUZZ_CHECK(le(a.estimate->lower, a.estimate->estimate));
        FUZZ_CHECK(le(a.estimate->estimate, a.estimate->upper));
      }
    }
    FUZZ_CHECK(!r.to_text().empty());
    FUZZ_CHECK(!r.to_json().dump().empty());
  } catch (const FlowQLError& e) {
    FUZZ_CHECK(e.column() >= 0 && size_t(e.column()) <= size + 1);
  }
  return 0;
}
