// The pure parts of a remote store's writer: a queue bounded in rows and bytes, when a
// batch is due, and exponential backoff between retries. Not thread-safe on its own
// (ClickHouseStore guards the queue with its mutex); no clocks inside, callers pass time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <vector>

#include "control/store/clickhouse_rows.h"

namespace haystack::store {

class WriteQueue {
 public:
  WriteQueue(size_t max_rows, size_t max_bytes) : max_rows_(max_rows), max_bytes_(max_bytes) {}

  // False (row not taken) when the row would exceed either bound.
  bool push(Row&& r, uint64_t now_ns) {
    if (rows_.size() + 1 > max_rows_ || bytes_ + r.bytes.size() > max_bytes_) return false;
    bytes_ += r.bytes.size();
    rows_.push_back({std::move(r), now_ns});
    return true;
  }
  // Up to max_rows of the oldest rows.
  std::vector<Row> take(size_t max_rows) {
    std::vector<Row> out;
    const size_t n = std::min(max_rows, rows_.size());
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      bytes_ -= rows_.front().row.bytes.size();
      out.push_back(std::move(rows_.front().row));
      rows_.pop_front();
    }
    return out;
  }
  size_t rows() const { return rows_.size(); }
  size_t bytes() const { return bytes_; }
  bool empty() const { return rows_.empty(); }
  // When the oldest queued row was pushed (0 when empty).
  uint64_t oldest_ns() const { return rows_.empty() ? 0 : rows_.front().queued_ns; }

 private:
  struct Entry {
    Row row;
    uint64_t queued_ns;
  };
  size_t max_rows_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::deque<Entry> rows_;
};

// A batch goes out when batch_rows are queued, when the oldest row has waited flush_ns,
// or when a flush asks for everything now.
inline bool batch_due(size_t queued, size_t batch_rows, uint64_t oldest_ns, uint64_t now_ns,
                      uint64_t flush_ns, bool flushing) {
  if (queued == 0) return false;
  return flushing || queued >= batch_rows || now_ns >= oldest_ns + flush_ns;
}

// Delays between attempts: initial, doubling, capped at max.
class Backoff {
 public:
  Backoff(uint64_t initial_ms, uint64_t max_ms) : initial_(initial_ms), max_(max_ms) {}
  uint64_t next_ms() {
    const uint64_t d = next_;
    next_ = std::min(max_, next_ * 2);
    return d;
  }
  void reset() { next_ = std::min(initial_, max_); }

 private:
  uint64_t initial_;
  uint64_t max_;
  uint64_t next_ = std::min(initial_, max_);
};

// A failing batch is given up (its rows counted as dropped) once it has been failing
// for retry_max_ns since its first failure.
inline bool retries_exhausted(uint64_t first_failure_ns, uint64_t now_ns, uint64_t retry_max_ns) {
  return now_ns >= first_failure_ns + retry_max_ns;
}

}  // namespace haystack::store
