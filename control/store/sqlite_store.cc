#include "control/store/sqlite_store.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "control/config.h"
#include "control/rollup_period.h"
#include "control/store/sqlite_db.h"
#include "control/tree_store.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "signatures/hitlist.h"

namespace haystack::store {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
-- One serialized Flowtree (dataplane/flowtree/flowtree_io.h binary format) per site,
-- granularity, period start (UTC seconds) and feature set.
CREATE TABLE trees (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  seconds INTEGER NOT NULL,
  start INTEGER NOT NULL,
  feature_set TEXT NOT NULL,
  format_version INTEGER NOT NULL,
  rollup INTEGER NOT NULL,   -- 1: built by the store from finer trees
  partial INTEGER NOT NULL,  -- 1: a roll-up of a period not complete at shutdown
  records INTEGER NOT NULL,
  nodes INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  flows INTEGER NOT NULL,
  tree BLOB NOT NULL,
  UNIQUE (site, seconds, start, feature_set));
-- Roll-up watermark: every period of this length ending at or before done_until is built.
CREATE TABLE rollup_state (
  site TEXT NOT NULL,
  seconds INTEGER NOT NULL,
  done_until INTEGER NOT NULL,
  PRIMARY KEY (site, seconds));
CREATE TABLE detections (
  site TEXT NOT NULL,
  window TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  line TEXT NOT NULL,
  service_key TEXT NOT NULL,
  level TEXT NOT NULL,
  domains TEXT NOT NULL,
  domains_required INTEGER NOT NULL,
  domains_total INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  first_seen_ns INTEGER NOT NULL,
  last_seen_ns INTEGER NOT NULL,
  active INTEGER NOT NULL,
  active_hours INTEGER NOT NULL,
  PRIMARY KEY (site, window, window_start, line, service_key));
CREATE TABLE service_counts (
  site TEXT NOT NULL,
  window TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  service_key TEXT NOT NULL,
  level TEXT NOT NULL,
  lines INTEGER NOT NULL,
  active_lines INTEGER NOT NULL,
  PRIMARY KEY (site, window, window_start, service_key));
CREATE TABLE eui64_windows (
  site TEXT NOT NULL,
  window TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  prefixes_seen INTEGER NOT NULL,
  prefixes_exposed INTEGER NOT NULL,
  exposed_share REAL NOT NULL,
  report TEXT NOT NULL,
  PRIMARY KEY (site, window, window_start));
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  type TEXT NOT NULL,
  severity TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL);
CREATE INDEX alerts_time ON alerts (time_ns);
CREATE TABLE hitlist_generations (
  site TEXT NOT NULL,
  number INTEGER NOT NULL,
  path TEXT NOT NULL,
  valid_from TEXT NOT NULL,
  valid_until TEXT NOT NULL,
  services INTEGER NOT NULL,
  endpoints INTEGER NOT NULL,
  loaded_ns INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  PRIMARY KEY (site, number, loaded_ns));
)sql";

}  // namespace

SqliteStore::SqliteStore(SqliteOptions opt) : opt_(std::move(opt)) {
  if (!opt_.read_only) {
    const auto parent = std::filesystem::path(opt_.path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  } else if (!std::filesystem::exists(opt_.path)) {
    throw std::runtime_error(opt_.path + ": no such SQLite database");
  }
  db_ = std::make_unique<SqliteDb>(opt_.path, opt_.read_only);
  open_schema();
  if (opt_.read_only) return;
  const size_t n = catch_up_rollups();
  if (n > 0) spdlog::info("sqlite store {}: caught up on {} roll-up tree set(s)", opt_.path, n);
  run_retention();
}

SqliteStore::~SqliteStore() = default;

void SqliteStore::open_schema() {
  // The first read fails on a file that is not a database (SQLITE_NOTADB) or corrupt.
  const int64_t tables =
      db_->scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'").value_or(0);
  if (tables == 0) {
    if (opt_.read_only)
      throw std::runtime_error(opt_.path + ": empty database, no Haystack schema");
    // auto_vacuum must be chosen before the first table exists.
    db_->exec("PRAGMA auto_vacuum = INCREMENTAL");
    db_->exec("PRAGMA journal_mode = WAL");
    Transaction t(*db_);
    db_->exec(kSchema);
    Stmt(*db_, "INSERT INTO schema_version (version) VALUES (?)").args(kSqliteSchemaVersion).run();
    t.commit();
  } else {
    const bool has = db_->scalar(
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                            "name = 'schema_version'")
                         .value_or(0) > 0;
    if (!has)
      throw std::runtime_error(opt_.path + ": not a Haystack store (no schema_version table)");
    const int64_t v = db_->scalar("SELECT max(version) FROM schema_version").value_or(0);
    if (v != kSqliteSchemaVersion) {
      throw std::runtime_error(opt_.path + ": schema version " + std::to_string(v) +
                               ", this haystack reads version " +
                               std::to_string(kSqliteSchemaVersion));
    }
    if (!opt_.read_only) {
      const auto mode = db_->scalar_text("PRAGMA journal_mode = WAL");
      if (mode != "wal") throw std::runtime_error(opt_.path + ": cannot switch to WAL journal");
    }
  }
  if (!opt_.read_only) {
    db_->exec(opt_.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  }
}

template <typename F>
void SqliteStore::guarded(const char* what, F&& f) {
  std::lock_guard lk(mu_);
  if (opt_.read_only) {
    ++c_.write_errors;
    spdlog::error("sqlite store {}: {}: store is read-only", opt_.path, what);
    return;
  }
  try {
    f();
  } catch (const std::exception& e) {
    ++c_.write_errors;
    spdlog::error("sqlite store: {}: {}", what, e.what());
  }
}

bool SqliteStore::is_rollup_level(uint32_t seconds) const {
  return std::find(opt_.rollups.begin(), opt_.rollups.end(), seconds) != opt_.rollups.end();
}

// Inserts (or replaces) one tree set in the caller's transaction.
void SqliteStore::write_trees(const SiteTrees& s, bool rollup, bool partial) {
  Stmt ins(*db_,
           "INSERT OR REPLACE INTO trees (site, seconds, start, feature_set, format_version, "
           "rollup, partial, records, nodes, packets, bytes, flows, tree) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const int64_t start = int64_t(s.start_ns / 1'000'000'000ULL);
  for (const auto& t : s.trees) {
    const std::vector<uint8_t> bytes = flowtree::serialize(t);
    const flowtree::Counters& tot = t.pop(flowtree::Flowtree::kRoot);
    ins.args(opt_.site, s.seconds, start, flowtree::feature_set_name(t.config().feature_set),
             flowtree::kFormatVersion, rollup ? 1 : 0, partial ? 1 : 0, s.records, t.size(),
             tot.packets, tot.bytes, tot.flows);
    ins.bind_blob(13, bytes);
    ins.run();
    c_.bytes_written += bytes.size();
  }
}

void SqliteStore::put_trees(const SiteTrees& s) {
  if (is_rollup_level(s.seconds)) {
    // The store builds this granularity itself from committed bins (restart-safe).
    std::lock_guard lk(mu_);
    if (!warned_foreign_rollup_) {
      spdlog::warn("sqlite store: ignoring {} trees handed in: the store builds its own roll-ups",
                   TreeStore::granularity_label(s.seconds));
      warned_foreign_rollup_ = true;
    }
    return;
  }
  int64_t cap = 0;  // see below
  guarded("put_trees", [&] {
    Transaction t(*db_);
    write_trees(s, false, false);
    if (s.seconds == opt_.bin_seconds && !opt_.rollups.empty()) {
      // Roll up only what this bin completes: periods ending by its end, or, for a late bin
      // (inside a period the first level has built), that period. Data stored beyond it
      // (replaying old traffic into a filled store) is rebuilt as the bins reach it, so a
      // replay costs a bounded number of rebuilds per period, not all later ones per bin.
      const uint64_t start = s.start_ns / 1'000'000'000ULL;
      const uint32_t first = opt_.rollups.front();
      cap = int64_t(start + s.seconds);
      if (int64_t(start) < rollup_done(opt_.site, first)) {
        cap = int64_t(period_start(start, first) + first);
      }
    }
    if (s.seconds == opt_.bin_seconds) {
      // A bin inside an already rolled-up period (replay, clock step): rebuild from there.
      // A partial roll-up of its period (written at the last shutdown) no longer covers
      // the period's data: it goes, and is built again once the period completes.
      const uint64_t start = s.start_ns / 1'000'000'000ULL;
      for (uint32_t len : opt_.rollups) {
        Stmt(*db_, "DELETE FROM trees WHERE site = ? AND seconds = ? AND start = ? AND partial = 1")
            .args(opt_.site, len, int64_t(period_start(start, len)))
            .run();
        Stmt(*db_,
             "UPDATE rollup_state SET done_until = ? WHERE site = ? AND seconds = ? AND "
             "done_until > ?")
            .args(int64_t(period_start(start, len)), opt_.site, len,
                  int64_t(period_start(start, len)))
            .run();
      }
    }
    t.commit();
    c_.trees_written += s.trees.size();
    if (s.seconds == opt_.bin_seconds) {
      bins_since_flush_ = true;
      roll_up_site(opt_.site, cap);
    }
    maybe_run_retention();
  });
}

void SqliteStore::put_windows(const std::vector<detection::WindowReport>& reports) {
  guarded("put_windows", [&] {
    Transaction t(*db_);
    Stmt det(*db_,
             "INSERT OR REPLACE INTO detections (site, window, window_start, window_end, line, "
             "service_key, level, domains, domains_required, domains_total, packets, bytes, "
             "first_seen_ns, last_seen_ns, active, active_hours) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Stmt cnt(*db_,
             "INSERT OR REPLACE INTO service_counts (site, window, window_start, window_end, "
             "service_key, level, lines, active_lines) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    uint64_t rows = 0;
    for (const auto& r : reports) {
      const std::string_view kind = detection::window_kind_name(r.kind);
      const int64_t ws = int64_t(r.start_ns / 1'000'000'000ULL);
      const int64_t we = int64_t(r.end_ns / 1'000'000'000ULL);
      for (const auto& d : r.detections) {
        det.args(opt_.site, kind, ws, we, d.line, d.service_key, hitlist::level_name(d.level),
                 nlohmann::json(d.domains).dump(), d.domains_required, d.domains_total,
                 int64_t(d.packets), int64_t(d.bytes), int64_t(d.first_seen_ns),
                 int64_t(d.last_seen_ns), d.active ? 1 : 0, d.active_hours)
            .run();
        ++rows;
      }
      for (const auto& sc : r.service_counts) {
        cnt.args(opt_.site, kind, ws, we, sc.service_key, hitlist::level_name(sc.level),
                 int64_t(sc.lines), int64_t(sc.active_lines))
            .run();
        ++rows;
      }
    }
    t.commit();
    c_.rows_written += rows;
  });
}

void SqliteStore::put_eui64(const nlohmann::ordered_json& report) {
  guarded("put_eui64", [&] {
    const std::string window = report.value("window", "");
    const std::optional<uint64_t> at = parse_time_seconds(report.value("window_start", ""));
    if (window.empty() || !at)
      throw std::runtime_error("EUI-64 report without window/window_start");
    const std::string text = report.dump();
    Transaction t(*db_);
    Stmt(*db_,
         "INSERT OR REPLACE INTO eui64_windows (site, window, window_start, prefixes_seen, "
         "prefixes_exposed, exposed_share, report) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .args(opt_.site, window, int64_t(*at), report.value("prefixes_seen", uint64_t{0}),
              report.value("prefixes_exposed", uint64_t{0}), report.value("exposed_share", 0.0),
              text)
        .run();
    t.commit();
    ++c_.rows_written;
    c_.bytes_written += text.size();
  });
}

void SqliteStore::put_alert(const Alert& a) {
  guarded("put_alert", [&] {
    const std::string details = a.details.dump();
    Transaction t(*db_);
    Stmt(*db_,
         "INSERT INTO alerts (site, time_ns, type, severity, subject, details) "
         "VALUES (?, ?, ?, ?, ?, ?)")
        .args(opt_.site, int64_t(a.time_ns), a.type, severity_name(a.severity), a.subject, details)
        .run();
    t.commit();
    ++c_.rows_written;
    c_.bytes_written += details.size();
  });
}

void SqliteStore::put_hitlist_generation(const HitlistGenerationRow& g) {
  guarded("put_hitlist_generation", [&] {
    Transaction t(*db_);
    Stmt(*db_,
         "INSERT OR REPLACE INTO hitlist_generations (site, number, path, valid_from, "
         "valid_until, services, endpoints, loaded_ns, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .args(opt_.site, int64_t(g.number), g.path, g.valid_from, g.valid_until,
              int64_t(g.services), int64_t(g.endpoints), int64_t(g.loaded_ns), g.trigger)
        .run();
    t.commit();
    ++c_.rows_written;
  });
}

void SqliteStore::flush() {
  guarded("flush", [&] {
    // Roll-ups of open periods, once per batch of new bins (a second flush adds nothing).
    if (bins_since_flush_) roll_up_partial(opt_.site);
    bins_since_flush_ = false;
    // Copies the WAL into the database file and syncs it: durable even across power loss.
    int log = 0, done = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) db_->fail(rc, "checkpoint");
  });
}

StoreCounters SqliteStore::counters() const {
  std::lock_guard lk(mu_);
  return c_;
}

uint64_t SqliteStore::used_bytes() const {
  std::lock_guard lk(mu_);
  const int64_t pages = db_->scalar("PRAGMA page_count").value_or(0);
  const int64_t free_pages = db_->scalar("PRAGMA freelist_count").value_or(0);
  const int64_t size = db_->scalar("PRAGMA page_size").value_or(0);
  return uint64_t((pages - free_pages) * size);
}

// ---------------------------------------------------------------------------------------
// FlowQL read side.

std::vector<std::string> SqliteStore::sites() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  Stmt s(*db_, "SELECT DISTINCT site FROM trees ORDER BY site");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<uint32_t> SqliteStore::granularities(const std::string& site) const {
  std::lock_guard lk(mu_);
  std::vector<uint32_t> out;
  Stmt s(*db_, "SELECT DISTINCT seconds FROM trees WHERE site = ? ORDER BY seconds");
  s.args(site);
  while (s.step()) out.push_back(uint32_t(s.i64(0)));
  return out;
}

std::vector<int64_t> SqliteStore::bins(const std::string& site, uint32_t seconds,
                                       flowtree::FeatureSet fs, int64_t from, int64_t to) const {
  std::lock_guard lk(mu_);
  std::vector<int64_t> out;
  Stmt s(*db_,
         "SELECT start FROM trees WHERE site = ? AND seconds = ? AND feature_set = ? AND "
         "start >= ? AND start <= ? - seconds ORDER BY start");
  s.args(site, seconds, flowtree::feature_set_name(fs), from, to);
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

flowtree::Flowtree SqliteStore::load(const std::string& site, uint32_t seconds, int64_t start,
                                     flowtree::FeatureSet fs) const {
  const std::string name = opt_.path + ": site " + site + ", " +
                           TreeStore::granularity_label(seconds) + " tree " +
                           TreeStore::period_label(uint64_t(start) * 1'000'000'000ULL) + " " +
                           std::string(flowtree::feature_set_name(fs));
  std::vector<uint8_t> bytes;
  {
    std::lock_guard lk(mu_);
    Stmt s(
        *db_,
        "SELECT tree FROM trees WHERE site = ? AND seconds = ? AND start = ? AND feature_set = ?");
    s.args(site, seconds, start, flowtree::feature_set_name(fs));
    if (!s.step()) throw std::runtime_error(name + ": not stored");
    bytes = s.blob(0);
  }
  try {
    return flowtree::deserialize(bytes);
  } catch (const flowtree::FlowtreeFormatError& e) {
    throw std::runtime_error(name + ": " + e.what());
  }
}

}  // namespace haystack::store
