#include "control/store/clickhouse_source.h"

#include <algorithm>
#include <stdexcept>

#include "control/store/clickhouse_rows.h"
#include "dataplane/flowtree/flowtree_io.h"

namespace haystack::store {

namespace {

// DateTime holds [0, 2^32-1]; FlowQL's open interval ends are clamped into it.
int64_t clamp_time(int64_t t) {
  return std::clamp<int64_t>(t, 0, 0xffffffffLL);
}

std::string tree_name(const std::string& site, uint32_t seconds, int64_t start,
                      flowtree::FeatureSet fs) {
  return "tree (site " + site + ", " + std::to_string(seconds) + " s, start " +
         std::to_string(start) + ", " + std::string(flowtree::feature_set_name(fs)) + ")";
}

}  // namespace

ClickHouseSource::ClickHouseSource(std::string url, std::string database, std::string user,
                                   std::string password, uint32_t timeout_ms)
    : db_(std::move(database)),
      http_(std::move(url), std::move(user), std::move(password), timeout_ms) {}

std::string ClickHouseSource::query(const std::string& sql) const {
  std::lock_guard lk(mu_);
  HttpResult r = http_.post(sql);
  if (!r.ok) throw std::runtime_error("ClickHouse " + r.error);
  return std::move(r.body);
}

std::vector<std::string> ClickHouseSource::sites() const {
  const std::string a =
      query("SELECT DISTINCT site FROM " + db_ + ".trees ORDER BY site FORMAT RowBinary");
  RowBinaryReader rd(a);
  std::vector<std::string> out;
  while (!rd.done()) out.push_back(rd.str());
  return out;
}

std::vector<uint32_t> ClickHouseSource::granularities(const std::string& site) const {
  const std::string a =
      query("SELECT DISTINCT granularity FROM " + db_ + ".trees WHERE site = " + sql_quote(site) +
            " ORDER BY granularity FORMAT RowBinary");
  RowBinaryReader rd(a);
  std::vector<uint32_t> out;
  while (!rd.done()) out.push_back(rd.u32());
  return out;
}

std::vector<int64_t> ClickHouseSource::bins(const std::string& site, uint32_t seconds,
                                            flowtree::FeatureSet fs, int64_t from,
                                            int64_t to) const {
  if (to <= from || to <= 0) return {};
  const std::string a = query(
      "SELECT DISTINCT toUInt32(start) AS s FROM " + db_ +
      ".trees WHERE site = " + sql_quote(site) + " AND granularity = " + std::to_string(seconds) +
      " AND feature_set = " + sql_quote(flowtree::feature_set_name(fs)) +
      " AND start >= toDateTime(" + std::to_string(clamp_time(from)) + ") AND start < toDateTime(" +
      std::to_string(clamp_time(to)) + ") ORDER BY s FORMAT RowBinary");
  RowBinaryReader rd(a);
  std::vector<int64_t> out;
  while (!rd.done()) out.push_back(rd.u32());
  // toDateTime(2^32-1) excludes the last representable second; `to` beyond it already does.
  return out;
}

flowtree::Flowtree ClickHouseSource::load(const std::string& site, uint32_t seconds, int64_t start,
                                          flowtree::FeatureSet fs) const {
  const std::string what = tree_name(site, seconds, start, fs);
  if (start < 0 || start > 0xffffffffLL) throw std::runtime_error(what + ": start out of range");
  // The newest version: a replayed bin may be stored more than once until parts merge.
  const std::string a = query("SELECT blob FROM " + db_ + ".trees WHERE site = " + sql_quote(site) +
                              " AND granularity = " + std::to_string(seconds) +
                              " AND start = toDateTime(" + std::to_string(start) +
                              ") AND feature_set = " + sql_quote(flowtree::feature_set_name(fs)) +
                              " ORDER BY inserted_ns DESC LIMIT 1 FORMAT RowBinary");
  RowBinaryReader rd(a);
  if (rd.done()) throw std::runtime_error(what + ": not stored");
  try {
    const std::string blob = rd.str();
    return flowtree::deserialize(
        std::span(reinterpret_cast<const uint8_t*>(blob.data()), blob.size()));
  } catch (const std::exception& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

}  // namespace haystack::store
