// Counter: a 64-bit counter with one writer (the owning lcore) and any number of
// readers (control, telemetry). Relaxed load+store instead of an atomic RMW: no lock
// prefix on the packet path, and readers never see torn values on 64-bit targets.
#pragma once

#include <atomic>
#include <cstdint>

namespace haystack {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  void set(uint64_t n) { v_.store(n, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace haystack
