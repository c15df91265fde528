// What a store backend has written, retried and dropped (stats document, /metrics).
#pragma once

#include <cstdint>

namespace haystack::store {

struct StoreCounters {
  uint64_t trees_written = 0;    // serialized site trees committed (bins and roll-ups)
  uint64_t rows_written = 0;     // every other committed row (detections, alerts, ...)
  uint64_t bytes_written = 0;    // payload bytes committed
  uint64_t write_errors = 0;     // failed writes/commits (each also logged)
  uint64_t retries = 0;          // remote backends: batches sent again
  uint64_t dropped_rows = 0;     // rows lost, the sum of the two reasons below
  uint64_t dropped_queue_full = 0;  // remote backends: the bounded queue was full
  uint64_t dropped_unwritten = 0;   // remote backends: retries exhausted, or still queued at stop
  uint64_t queued_rows = 0;      // gauge: rows waiting to be written
  uint64_t rollups_written = 0;  // site trees produced by the store's own roll-ups
  uint64_t retention_deleted = 0;  // rows removed by retention (age or size)
};

}  // namespace haystack::store
