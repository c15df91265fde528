// SqliteStore roll-ups and retention (see sqlite_store.h, docs/storage.md).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "control/config.h"
#include "control/rollup_period.h"
#include "control/store/sqlite_db.h"
#include "control/store/sqlite_store.h"
#include "control/tree_store.h"
#include "dataplane/flowtree/flowtree_io.h"

namespace haystack::store {

int64_t SqliteStore::rollup_done(const std::string& site, uint32_t seconds) const {
  Stmt s(*db_, "SELECT done_until FROM rollup_state WHERE site = ? AND seconds = ?");
  s.args(site, seconds);
  return s.step() ? s.i64(0) : 0;
}

size_t SqliteStore::catch_up_rollups() {
  std::lock_guard lk(mu_);
  if (opt_.read_only || opt_.rollups.empty()) return 0;
  std::vector<std::string> sites;
  {
    Stmt s(*db_, "SELECT DISTINCT site FROM trees WHERE seconds = ? ORDER BY site");
    s.args(opt_.bin_seconds);
    while (s.step()) sites.push_back(s.text(0));
  }
  size_t n = 0;
  for (const auto& site : sites) n += roll_up_site(site);
  return n;
}

// Level by level: every period whose finer trees are all committed (the finer level's
// watermark reached its end) and that is not built yet is built, in time order.
size_t SqliteStore::roll_up_site(const std::string& site, int64_t cap) {
  size_t built = 0;
  int64_t src_done = 0;  // every finer period ending at or before this is complete
  {
    Stmt s(*db_, "SELECT max(start + seconds) FROM trees WHERE site = ? AND seconds = ?");
    s.args(site, opt_.bin_seconds);
    if (!s.step() || s.null(0)) return 0;
    src_done = s.i64(0);
  }
  if (cap > 0) src_done = std::min(src_done, cap);
  uint32_t src = opt_.bin_seconds;
  for (uint32_t len : opt_.rollups) {
    const int64_t done = rollup_done(site, len);
    std::vector<int64_t> periods;
    {
      Stmt s(*db_,
             "SELECT DISTINCT start FROM trees WHERE site = ? AND seconds = ? AND start >= ? "
             "AND start < ? ORDER BY start");
      s.args(site, src, done, src_done);
      while (s.step()) {
        const int64_t p = int64_t(period_start(uint64_t(s.i64(0)), len));
        if (periods.empty() || periods.back() != p) periods.push_back(p);
      }
    }
    for (int64_t p : periods) {
      if (p + int64_t(len) > src_done) break;  // still open
      if (build_rollup(site, len, src, uint64_t(p), false)) ++built;
    }
    const int64_t watermark = std::max(done, int64_t(period_start(uint64_t(src_done), len)));
    if (watermark != done) {
      Stmt(*db_,
           "INSERT INTO rollup_state (site, seconds, done_until) VALUES (?, ?, ?) "
           "ON CONFLICT (site, seconds) DO UPDATE SET done_until = excluded.done_until")
          .args(site, len, watermark)
          .run();
    }
    src = len;
    src_done = watermark;
  }
  return built;
}

// Shutdown: every period past a level's watermark that has finer trees is rolled up as
// it stands (partial), level by level, so the coarser levels include the newest data.
size_t SqliteStore::roll_up_partial(const std::string& site) {
  size_t built = roll_up_site(site);
  uint32_t src = opt_.bin_seconds;
  for (uint32_t len : opt_.rollups) {
    std::vector<int64_t> periods;
    {
      Stmt s(*db_,
             "SELECT DISTINCT start FROM trees WHERE site = ? AND seconds = ? AND start >= ? "
             "ORDER BY start");
      s.args(site, src, rollup_done(site, len));
      while (s.step()) {
        const int64_t p = int64_t(period_start(uint64_t(s.i64(0)), len));
        if (periods.empty() || periods.back() != p) periods.push_back(p);
      }
    }
    for (int64_t p : periods) built += build_rollup(site, len, src, uint64_t(p), true) ? 1 : 0;
    src = len;
  }
  return built;
}

// Merges the finer trees of one period in time order into a fresh site tree per feature
// set (as FlowSummaries does in memory), compresses it to the site budget, and commits
// it together with the level's watermark.
bool SqliteStore::build_rollup(const std::string& site, uint32_t seconds, uint32_t src,
                               uint64_t start, bool partial) {
  const int64_t from = int64_t(start), to = int64_t(start + seconds);
  std::vector<std::string> sets;
  int64_t records = 0;
  {
    Stmt s(*db_,
           "SELECT DISTINCT feature_set FROM trees WHERE site = ? AND seconds = ? AND "
           "start >= ? AND start < ?");
    s.args(site, src, from, to);
    while (s.step()) sets.push_back(s.text(0));
    Stmt r(*db_,
           "SELECT count(DISTINCT start) FROM trees WHERE site = ? AND seconds = ? AND "
           "start >= ? AND start < ?");
    r.args(site, src, from, to);
    if (r.step()) records = r.i64(0);
  }
  if (sets.empty()) return false;
  // Configured feature sets first, in config order; then any other stored set by name.
  auto rank = [&](const std::string& name) {
    for (size_t i = 0; i < opt_.site_configs.size(); ++i) {
      if (flowtree::feature_set_name(opt_.site_configs[i].feature_set) == name) return i;
    }
    return opt_.site_configs.size();
  };
  std::stable_sort(sets.begin(), sets.end(),
                   [&](const auto& a, const auto& b) { return rank(a) < rank(b); });

  SiteTrees out;
  out.seconds = seconds;
  out.start_ns = start * 1'000'000'000ULL;
  out.records = uint64_t(records);
  Stmt s(*db_,
         "SELECT tree FROM trees WHERE site = ? AND seconds = ? AND feature_set = ? AND "
         "start >= ? AND start < ? ORDER BY start");
  for (const std::string& name : sets) {
    s.args(site, src, name, from, to);
    std::optional<flowtree::Flowtree> acc;
    while (s.step()) {
      const std::vector<uint8_t> bytes = s.blob(0);
      flowtree::Flowtree t = flowtree::deserialize(bytes);
      if (!acc) {
        const size_t i = rank(name);
        flowtree::FlowtreeConfig cfg = t.config();
        if (i < opt_.site_configs.size() &&
            opt_.site_configs[i].with_proto == t.config().with_proto) {
          cfg = opt_.site_configs[i];
        }
        acc.emplace(cfg);
      }
      acc->merge(t);
    }
    s.reset();
    acc->compress_to(acc->config().budget);
    acc->canonicalize();
    out.trees.push_back(std::move(*acc));
  }
  Transaction t(*db_);
  write_trees(out, true, partial);
  if (!partial) {
    Stmt(*db_,
         "INSERT INTO rollup_state (site, seconds, done_until) VALUES (?, ?, ?) "
         "ON CONFLICT (site, seconds) DO UPDATE SET done_until = excluded.done_until")
        .args(site, seconds, to)
        .run();
  }
  t.commit();
  c_.trees_written += out.trees.size();
  c_.rollups_written += out.trees.size();
  if (opt_.on_rollup) opt_.on_rollup(out);
  return true;
}

// ---------------------------------------------------------------------------------------
// Retention.

namespace {

// Trees of granularity g that a roll-up still needs are kept: those at or after the
// watermark of the next level built from g.
std::string protect_clause(const std::vector<uint32_t>& rollups, uint32_t bin_seconds, uint32_t g) {
  uint32_t next = 0;
  if (g == bin_seconds && !rollups.empty()) next = rollups.front();
  for (size_t i = 0; i + 1 < rollups.size(); ++i) {
    if (rollups[i] == g) next = rollups[i + 1];
  }
  if (next == 0) return "";
  return " AND start < coalesce((SELECT done_until FROM rollup_state r WHERE r.site = "
         "trees.site AND r.seconds = " +
         std::to_string(next) + "), 0)";
}

}  // namespace

uint64_t SqliteStore::run_retention() {
  std::lock_guard lk(mu_);
  if (opt_.read_only) return 0;
  return retention_locked();
}

void SqliteStore::maybe_run_retention() {
  if (std::chrono::steady_clock::now() - last_retention_ >=
      std::chrono::seconds(opt_.retention_interval_seconds)) {
    retention_locked();
  }
}

uint64_t SqliteStore::retention_locked() {
  uint64_t n = 0;
  try {
    n = retention_by_age() + retention_by_size();
    if (n > 0) {
      // Return the freed pages to the file system (auto_vacuum = INCREMENTAL); the
      // checkpoint moves the shrink from the WAL into the file.
      db_->exec("PRAGMA incremental_vacuum");
      db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
  } catch (const std::exception& e) {
    ++c_.write_errors;
    spdlog::error("sqlite store: retention: {}", e.what());
  }
  c_.retention_deleted += n;
  last_retention_ = std::chrono::steady_clock::now();
  return n;
}

// Age is measured from the newest row of the same kind (not the wall clock), so replaying
// an old capture does not expire it at once, and wall-clock alerts (daemon start) do not
// age packet-time trees.
uint64_t SqliteStore::retention_by_age() {
  uint64_t n = 0;
  Transaction t(*db_);
  if (const auto ref = db_->scalar("SELECT max(start + seconds) FROM trees")) {
    std::vector<uint32_t> grans;
    {
      Stmt s(*db_, "SELECT DISTINCT seconds FROM trees ORDER BY seconds");
      while (s.step()) grans.push_back(uint32_t(s.i64(0)));
    }
    for (uint32_t g : grans) {
      const auto it = opt_.retention_days.find(g);
      const uint32_t days =
          it != opt_.retention_days.end() ? it->second : default_retention_days(g);
      if (days == 0) continue;
      Stmt(*db_, "DELETE FROM trees WHERE seconds = ? AND start + seconds <= ?" +
                     protect_clause(opt_.rollups, opt_.bin_seconds, g))
          .args(g, *ref - int64_t(days) * 86400)
          .run();
      n += uint64_t(db_->changes());
    }
  }
  if (opt_.event_retention_days > 0) {
    const int64_t age = int64_t(opt_.event_retention_days) * 86400;
    for (const char* sql :
         {"DELETE FROM detections WHERE window_end <= (SELECT max(window_end) FROM detections) - ?",
          "DELETE FROM service_counts WHERE window_end <= "
          "(SELECT max(window_end) FROM service_counts) - ?",
          "DELETE FROM eui64_windows WHERE window_start <= "
          "(SELECT max(window_start) FROM eui64_windows) - ?",
          "DELETE FROM alerts WHERE time_ns <= (SELECT max(time_ns) FROM alerts) - ? * "
          "1000000000"}) {
      Stmt(*db_, sql).args(age).run();
      n += uint64_t(db_->changes());
    }
  }
  t.commit();
  return n;
}

// Oldest trees of the finest granularity first, one period at a time, until the live
// pages fit max_bytes. Events are small and only expire by age.
uint64_t SqliteStore::retention_by_size() {
  if (opt_.max_bytes == 0) return 0;
  auto used = [&] {
    const int64_t pages = db_->scalar("PRAGMA page_count").value_or(0);
    const int64_t free_pages = db_->scalar("PRAGMA freelist_count").value_or(0);
    return uint64_t((pages - free_pages) * db_->scalar("PRAGMA page_size").value_or(0));
  };
  std::vector<uint32_t> grans;
  {
    Stmt s(*db_, "SELECT DISTINCT seconds FROM trees ORDER BY seconds");
    while (s.step()) grans.push_back(uint32_t(s.i64(0)));
  }
  uint64_t n = 0;
  while (used() > opt_.max_bytes) {
    bool deleted = false;
    for (uint32_t g : grans) {
      const std::string prot = protect_clause(opt_.rollups, opt_.bin_seconds, g);
      Stmt pick(*db_, "SELECT site, start FROM trees WHERE seconds = ?" + prot +
                          " ORDER BY start, site LIMIT 1");
      pick.args(g);
      if (!pick.step()) continue;
      const std::string site = pick.text(0);
      const int64_t start = pick.i64(1);
      pick.reset();
      Stmt(*db_, "DELETE FROM trees WHERE site = ? AND seconds = ? AND start = ?")
          .args(site, g, start)
          .run();
      n += uint64_t(db_->changes());
      deleted = true;
      break;
    }
    if (!deleted) {
      spdlog::warn(
          "sqlite store {}: {} bytes in use exceed max_bytes {} but no tree may be "
          "deleted (roll-ups still need them)",
          opt_.path, used(), opt_.max_bytes);
      break;
    }
  }
  return n;
}

}  // namespace haystack::store
