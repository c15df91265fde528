// SqliteStore: the embedded default store, one SQLite file (docs/storage.md).
//
// Durability: WAL journal, one transaction per put_* call (a bin's whole tree set commits
// atomically or not at all). synchronous=NORMAL by default: a committed transaction is in
// the WAL in the OS page cache before put_* returns, so killing the process (kill -9, a
// crash) never loses it; a power loss or kernel crash may lose the last transactions
// before the next checkpoint (never corrupting the file). synchronous=FULL also fsyncs
// the WAL at every commit.
//
// Roll-ups are the store's own and restart-safe: once every finer tree of a period is
// committed (a later finer tree exists), the coarser tree is built by merging them in time
// order, compressed to the site budget and committed together with the level's watermark
// (rollup_state). Opening the store catches up on periods a crash left without roll-up.
// Week-long levels are ISO weeks (Monday 00:00 UTC, control/rollup_period.h).
//
// Retention runs at open and then at most every `retention_interval_seconds` (checked on
// put), by age per granularity and by file size; see docs/storage.md.
//
// Threading: every method may be called from any thread; one mutex serialises them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/store/store.h"

namespace haystack::store {

class SqliteDb;

inline constexpr int kSqliteSchemaVersion = 1;

struct SqliteOptions {
  std::string path;
  bool read_only = false;      // queries only (haystack-flowtree): no schema, roll-ups, retention
  std::string site = "site1";  // site of every tree, window and alert put here
  uint32_t bin_seconds = 60;   // the finest granularity; roll-ups start from it
  std::vector<uint32_t> rollups;  // roll-up lengths, ascending, each a multiple of the previous
  // Site tree settings per feature set (budget, p, seed) for the roll-ups; a feature set
  // not listed uses the configuration stored with its trees.
  std::vector<flowtree::FlowtreeConfig> site_configs;
  bool synchronous_full = false;
  // Age retention in days per granularity (seconds -> days; 0 keeps forever); a
  // granularity not listed uses default_retention_days().
  std::map<uint32_t, uint32_t> retention_days;
  uint32_t event_retention_days = 365;  // detections, service counts, EUI-64, alerts
  uint64_t max_bytes = 0;               // 0: no size limit
  uint32_t retention_interval_seconds = 600;
  // Called after each roll-up commits (e.g. to forward it to IPFIX or tree files).
  std::function<void(const SiteTrees&)> on_rollup;
};

class SqliteStore : public Store {
 public:
  // Opens or creates the file, checks the schema version, catches up on roll-ups and runs
  // retention. Throws std::runtime_error naming the path (not a database, corrupt, schema
  // version from another release, cannot create).
  explicit SqliteStore(SqliteOptions opt);
  ~SqliteStore() override;

  void put_trees(const SiteTrees& s) override;
  void put_windows(const std::vector<detection::WindowReport>& reports) override;
  void put_eui64(const nlohmann::ordered_json& report) override;
  void put_alert(const Alert& a) override;
  void put_hitlist_generation(const HitlistGenerationRow& g) override;
  void flush() override;
  StoreCounters counters() const override;
  std::string_view backend_name() const override { return "sqlite"; }

  std::vector<std::string> sites() const override;
  std::vector<uint32_t> granularities(const std::string& site) const override;
  std::vector<int64_t> bins(const std::string& site, uint32_t seconds, flowtree::FeatureSet fs,
                            int64_t from, int64_t to) const override;
  flowtree::Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                          flowtree::FeatureSet fs) const override;

  // Builds every roll-up whose finer trees are complete; returns the tree sets written
  // (StoreCounters::rollups_written counts trees).
  size_t catch_up_rollups();
  // Runs retention now; returns the rows deleted.
  uint64_t run_retention();
  // Bytes the live pages take ((page_count - freelist_count) * page_size).
  uint64_t used_bytes() const;
  const SqliteOptions& options() const { return opt_; }

 private:
  void open_schema();
  void write_trees(const SiteTrees& s, bool rollup, bool partial);
  // `cap`: consider finer data complete only up to this time (0: everything stored).
  size_t roll_up_site(const std::string& site, int64_t cap = 0);
  size_t roll_up_partial(const std::string& site);
  bool build_rollup(const std::string& site, uint32_t seconds, uint32_t src_seconds, uint64_t start,
                    bool partial);
  uint64_t retention_by_age();
  uint64_t retention_by_size();
  void maybe_run_retention();
  uint64_t retention_locked();
  int64_t rollup_done(const std::string& site, uint32_t seconds) const;
  bool is_rollup_level(uint32_t seconds) const;
  template <typename F>
  void guarded(const char* what, F&& f);

  SqliteOptions opt_;
  mutable std::mutex mu_;
  std::unique_ptr<SqliteDb> db_;
  StoreCounters c_;
  std::chrono::steady_clock::time_point last_retention_{};
  bool warned_foreign_rollup_ = false;
  bool bins_since_flush_ = false;
};

}  // namespace haystack::store
