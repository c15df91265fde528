// ClickHouseStore: the network-wide Store backend (docs/clickhouse.md). put_* encode rows
// (RowBinary, clickhouse_rows.h) on the caller's thread and push them onto a queue
// bounded in rows and bytes; a full queue drops the row and counts it. One writer
// thread sends batches (batch_rows rows, or whatever waited flush_ms) as one INSERT per
// table, retrying a failed INSERT with exponential backoff (100 ms doubling up to
// retry_backoff_max_ms) until it succeeds or has failed for retry_max_seconds, when its
// rows are dropped and counted. Tables are created (IF NOT EXISTS) by the writer before
// its first INSERT, so a dead server never delays start-up. Reads (FlowQL) go through
// ClickHouseSource on the caller's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "control/config.h"
#include "control/store/clickhouse_source.h"
#include "control/store/store.h"
#include "control/store/write_queue.h"

namespace haystack::store {

class ClickHouseStore final : public Store {
 public:
  // Starts the writer thread. `password` is the secret itself (see make_clickhouse_store).
  ClickHouseStore(const ClickHouseStoreConfig& cfg, std::string site, std::string password);
  // flush() (bounded), then stops the writer; rows still queued are counted as dropped.
  ~ClickHouseStore() override;

  void put_trees(const SiteTrees& s) override;
  void put_windows(const std::vector<detection::WindowReport>& reports) override;
  void put_eui64(const nlohmann::ordered_json& report) override;
  void put_alert(const Alert& a) override;
  void put_hitlist_generation(const HitlistGenerationRow& g) override;
  void flush() override;
  StoreCounters counters() const override;
  std::string_view backend_name() const override { return "clickhouse"; }

  std::vector<std::string> sites() const override { return src_.sites(); }
  std::vector<uint32_t> granularities(const std::string& site) const override {
    return src_.granularities(site);
  }
  std::vector<int64_t> bins(const std::string& site, uint32_t seconds, flowtree::FeatureSet fs,
                            int64_t from, int64_t to) const override {
    return src_.bins(site, seconds, fs, from, to);
  }
  flowtree::Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                          flowtree::FeatureSet fs) const override {
    return src_.load(site, seconds, start, fs);
  }

  // Drops by reason (both also in StoreCounters::dropped_rows).
  uint64_t dropped_queue_full() const { return dropped_full_.load(); }
  uint64_t dropped_retries_exhausted() const { return dropped_retry_.load(); }

 private:
  void enqueue(std::vector<Row>&& rows);
  void writer_loop();
  // Sends one table's rows, retrying; false when given up (rows counted as dropped).
  bool send_with_retry(Table t, const std::vector<const Row*>& rows);
  bool ensure_tables();
  bool sleep_or_abandon(uint64_t ms);

  ClickHouseStoreConfig cfg_;
  std::string site_;
  ClickHouseSource src_;
  std::unique_ptr<ClickHouseHttp> writer_http_;  // the writer thread's connection

  mutable std::mutex mu_;
  std::condition_variable wake_;  // the writer: rows, flush or stop
  std::condition_variable idle_;  // flush(): queue empty and nothing in flight
  WriteQueue queue_;
  size_t in_flight_ = 0;
  bool flushing_ = false;
  bool stop_ = false;                 // finish what is queued, then exit
  std::atomic<bool> abandon_{false};  // give up now (shutdown after flush timed out)
  bool tables_ready_ = false;         // writer thread only

  std::atomic<uint64_t> trees_written_{0}, rows_written_{0}, bytes_written_{0}, write_errors_{0},
      retries_{0}, dropped_full_{0}, dropped_retry_{0}, queued_{0};

  std::thread writer_;
};

// Reads the password file (first line; throws std::runtime_error naming the file when
// it cannot be read) and builds the store for cfg.store.clickhouse and cfg.site_id.
std::unique_ptr<Store> make_clickhouse_store(const Config& cfg);

// The password in a password file: its first line, without the line end.
std::string read_password_file(const std::string& path);

}  // namespace haystack::store
