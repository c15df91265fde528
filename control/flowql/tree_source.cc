#include "control/flowql/tree_source.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "control/flowql/lexer.h"
#include "control/tree_store.h"
#include "dataplane/flowtree/flowtree_io.h"

namespace haystack::flowql {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> subdirs(const fs::path& p) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "15m" -> 900 for the labels TreeStore::granularity_label writes; 0 otherwise.
uint32_t parse_granularity(const std::string& s) {
  unsigned n = 0;
  char unit = 0, extra = 0;
  if (std::sscanf(s.c_str(), "%u%c%c", &n, &unit, &extra) != 2 || n == 0) return 0;
  const uint32_t mult = unit == 'w'   ? 604800
                        : unit == 'd' ? 86400
                        : unit == 'h' ? 3600
                        : unit == 'm' ? 60
                        : unit == 's' ? 1
                                      : 0;
  const uint32_t seconds = n * mult;
  return seconds != 0 && TreeStore::granularity_label(seconds) == s ? seconds : 0;
}

// "20261101T100000Z" -> UTC seconds; -1 if it is not such a label.
int64_t parse_period(const std::string& s) {
  int y, mo, d, h, mi, se;
  char z = 0, extra = 0;
  if (s.size() != 16 ||
      std::sscanf(s.c_str(), "%4d%2d%2dT%2d%2d%2d%c%c", &y, &mo, &d, &h, &mi, &se, &z, &extra) !=
          7 ||
      z != 'Z') {
    return -1;
  }
  const int64_t t = utc_seconds(y, mo, d, h, mi, se);
  return TreeStore::period_label(uint64_t(t) * 1'000'000'000ULL) == s ? t : -1;
}

}  // namespace

std::vector<std::string> StateDirSource::sites() const {
  return subdirs(root_);
}

std::vector<uint32_t> StateDirSource::granularities(const std::string& site) const {
  std::vector<uint32_t> out;
  for (const std::string& g : subdirs(fs::path(root_) / site)) {
    if (const uint32_t s = parse_granularity(g)) out.push_back(s);
  }
  return out;
}

std::vector<int64_t> StateDirSource::bins(const std::string& site, uint32_t seconds,
                                          flowtree::FeatureSet set, int64_t from,
                                          int64_t to) const {
  std::vector<int64_t> out;
  const fs::path dir = fs::path(root_) / site / TreeStore::granularity_label(seconds);
  const std::string file = std::string(flowtree::feature_set_name(set)) + ".ftr";
  for (const std::string& p : subdirs(dir)) {
    const int64_t start = parse_period(p);
    std::error_code ec;
    if (start >= from && start + seconds <= to && fs::is_regular_file(dir / p / file, ec))
      out.push_back(start);
  }
  std::sort(out.begin(), out.end());
  return out;
}

flowtree::Flowtree StateDirSource::load(const std::string& site, uint32_t seconds, int64_t start,
                                        flowtree::FeatureSet set) const {
  const std::string path =
      TreeStore(root_, site)
          .path_for(seconds, uint64_t(start) * 1'000'000'000ULL, flowtree::feature_set_name(set));
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
  try {
    return flowtree::deserialize(bytes);
  } catch (const flowtree::FlowtreeFormatError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace haystack::flowql
