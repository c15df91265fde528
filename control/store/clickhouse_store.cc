#include "control/store/clickhouse_store.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>

namespace haystack::store {

namespace {

constexpr uint64_t kBackoffInitialMs = 100;

uint64_t mono_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

uint64_t wall_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

}  // namespace

ClickHouseStore::ClickHouseStore(const ClickHouseStoreConfig& cfg, std::string site,
                                 std::string password)
    : cfg_(cfg),
      site_(std::move(site)),
      src_(cfg.url, cfg.database, cfg.user, password, cfg.timeout_ms),
      writer_http_(std::make_unique<ClickHouseHttp>(cfg.url, cfg.user, password, cfg.timeout_ms)),
      queue_(cfg.queue_rows, cfg.queue_bytes) {
  tables_ready_ = !cfg_.create_tables;
  writer_ = std::thread([this] { writer_loop(); });
  spdlog::info("store: clickhouse at {}, database {}, site {}", cfg_.url, cfg_.database, site_);
}

ClickHouseStore::~ClickHouseStore() {
  flush();
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    abandon_ = true;
  }
  wake_.notify_all();
  writer_.join();
  const size_t left = queue_.rows();
  if (left > 0) {
    dropped_retry_ += left;
    spdlog::warn("store: clickhouse: {} rows not written at shutdown (dropped)", left);
  }
  queued_ = 0;
}

void ClickHouseStore::enqueue(std::vector<Row>&& rows) {
  size_t dropped = 0;
  {
    std::lock_guard lk(mu_);
    const uint64_t now = mono_ns();
    for (Row& r : rows) {
      if (!queue_.push(std::move(r), now)) ++dropped;
    }
    queued_ = queue_.rows() + in_flight_;
  }
  if (dropped > 0) {
    // Log the first drop of a run of them only: a dead server would flood the log.
    if (dropped_full_.fetch_add(dropped) == 0 || dropped == rows.size()) {
      spdlog::warn("store: clickhouse: queue full ({} rows / {} bytes), {} rows dropped",
                   cfg_.queue_rows, cfg_.queue_bytes, dropped);
    }
  }
  wake_.notify_one();
}

void ClickHouseStore::put_trees(const SiteTrees& s) {
  enqueue(tree_rows(site_, s, wall_ns()));
}

void ClickHouseStore::put_windows(const std::vector<detection::WindowReport>& reports) {
  enqueue(window_rows(site_, reports));
}

void ClickHouseStore::put_eui64(const nlohmann::ordered_json& report) {
  std::vector<Row> v;
  v.push_back(eui64_row(site_, report));
  enqueue(std::move(v));
}

void ClickHouseStore::put_alert(const Alert& a) {
  std::vector<Row> v;
  v.push_back(alert_row(site_, a));
  enqueue(std::move(v));
}

void ClickHouseStore::put_hitlist_generation(const HitlistGenerationRow& g) {
  std::vector<Row> v;
  v.push_back(hitlist_generation_row(site_, g));
  enqueue(std::move(v));
}

void ClickHouseStore::flush() {
  std::unique_lock lk(mu_);
  flushing_ = true;
  wake_.notify_all();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(cfg_.flush_timeout_ms);
  const bool done =
      idle_.wait_until(lk, deadline, [&] { return queue_.empty() && in_flight_ == 0; });
  flushing_ = false;
  if (!done) {
    spdlog::warn("store: clickhouse: flush timed out after {} ms ({} rows still queued)",
                 cfg_.flush_timeout_ms, queue_.rows() + in_flight_);
  }
}

StoreCounters ClickHouseStore::counters() const {
  StoreCounters c;
  c.trees_written = trees_written_;
  c.rows_written = rows_written_;
  c.bytes_written = bytes_written_;
  c.write_errors = write_errors_;
  c.retries = retries_;
  c.dropped_queue_full = dropped_full_;
  c.dropped_unwritten = dropped_retry_;
  c.dropped_rows = c.dropped_queue_full + c.dropped_unwritten;
  c.queued_rows = queued_;
  return c;
}

bool ClickHouseStore::sleep_or_abandon(uint64_t ms) {
  std::unique_lock lk(mu_);
  wake_.wait_for(lk, std::chrono::milliseconds(ms), [&] { return abandon_.load(); });
  return !abandon_;
}

bool ClickHouseStore::ensure_tables() {
  if (tables_ready_) return true;
  for (const std::string& sql : clickhouse_ddl(cfg_.database)) {
    const HttpResult r = writer_http_->post(sql);
    if (!r.ok) {
      ++write_errors_;
      spdlog::warn("store: clickhouse: creating tables: {}", r.error);
      return false;
    }
  }
  tables_ready_ = true;
  return true;
}

bool ClickHouseStore::send_with_retry(Table t, const std::vector<const Row*>& rows) {
  std::string body;
  for (const Row* r : rows) body += r->bytes;
  const std::string insert = "INSERT INTO " + cfg_.database + "." + std::string(table_name(t)) +
                             " (" + std::string(table_columns(t)) + ") FORMAT RowBinary";
  Backoff backoff(kBackoffInitialMs, cfg_.retry_backoff_max_ms);
  const uint64_t retry_max_ns = uint64_t(cfg_.retry_max_seconds) * 1'000'000'000ULL;
  uint64_t first_failure = 0;
  for (bool first = true;; first = false) {
    if (abandon_) break;
    if (!first) ++retries_;
    std::string error;
    if (ensure_tables()) {
      const HttpResult r = writer_http_->post(insert, body);
      if (r.ok) {
        if (!first) spdlog::info("store: clickhouse: {} written after retrying", table_name(t));
        if (t == Table::kTrees) {
          trees_written_ += rows.size();
        } else {
          rows_written_ += rows.size();
        }
        bytes_written_ += body.size();
        return true;
      }
      ++write_errors_;
      error = r.error;
    } else {
      error = "tables not created";
    }
    const uint64_t now = mono_ns();
    if (first_failure == 0) {
      first_failure = now;
      spdlog::warn("store: clickhouse: INSERT of {} {} rows failed: {}; retrying", rows.size(),
                   table_name(t), error);
    }
    if (abandon_ || retries_exhausted(first_failure, now, retry_max_ns)) break;
    if (!sleep_or_abandon(backoff.next_ms())) break;
  }
  dropped_retry_ += rows.size();
  spdlog::error("store: clickhouse: {} {} rows dropped ({})", rows.size(), table_name(t),
                abandon_ ? "shutting down" : "retries exhausted");
  return false;
}

void ClickHouseStore::writer_loop() {
  std::unique_lock lk(mu_);
  const uint64_t flush_ns = uint64_t(cfg_.flush_ms) * 1'000'000ULL;
  for (;;) {
    const uint64_t now = mono_ns();
    const bool due = batch_due(queue_.rows(), cfg_.batch_rows, queue_.oldest_ns(), now, flush_ns,
                               flushing_ || stop_);
    if (!due) {
      if (stop_) break;
      if (queue_.empty()) {
        wake_.wait(lk);
      } else {
        wake_.wait_for(lk, std::chrono::nanoseconds(queue_.oldest_ns() + flush_ns - now));
      }
      continue;
    }
    if (abandon_) break;
    std::vector<Row> batch = queue_.take(cfg_.batch_rows);
    in_flight_ = batch.size();
    queued_ = queue_.rows() + in_flight_;
    lk.unlock();
    // One INSERT per table, in table order; rows keep their order within a table.
    std::vector<const Row*> by_table[kTableCount];
    for (const Row& r : batch) by_table[size_t(r.table)].push_back(&r);
    for (size_t t = 0; t < kTableCount; ++t) {
      if (!by_table[t].empty()) send_with_retry(Table(t), by_table[t]);
    }
    lk.lock();
    in_flight_ = 0;
    queued_ = queue_.rows();
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

std::string read_password_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path + ": cannot read the ClickHouse password file");
  std::string line;
  std::getline(f, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::unique_ptr<Store> make_clickhouse_store(const Config& cfg) {
  const ClickHouseStoreConfig& ch = cfg.store.clickhouse;
  const std::string password = ch.password_file.empty() ? "" : read_password_file(ch.password_file);
  return std::make_unique<ClickHouseStore>(ch, cfg.site_id, password);
}

}  // namespace haystack::store
