// BinClock: fixed-length time bins aligned to the Unix epoch, so every worker (and every
// site) agrees on bin boundaries. Time is nanoseconds since the epoch, taken from packet
// timestamps in replay and from the wall clock live.
#pragma once

#include <cstdint>

namespace haystack {

class BinClock {
 public:
  explicit BinClock(uint64_t bin_ns = 60'000'000'000ULL) : bin_ns_(bin_ns) {}

  uint64_t bin_ns() const { return bin_ns_; }
  uint64_t bin_start(uint64_t t_ns) const { return t_ns - t_ns % bin_ns_; }

  // True when t_ns lies beyond the currently open bin; the caller closes the open bin
  // (if any) and calls open(). The first timestamp opens the first bin.
  bool crosses(uint64_t t_ns) const { return !open_ || t_ns >= cur_start_ + bin_ns_; }
  void open(uint64_t t_ns) {
    cur_start_ = bin_start(t_ns);
    open_ = true;
  }
  void close() { open_ = false; }
  bool is_open() const { return open_; }
  uint64_t current_start() const { return cur_start_; }
  uint64_t current_end() const { return cur_start_ + bin_ns_; }

 private:
  uint64_t bin_ns_;
  uint64_t cur_start_ = 0;
  bool open_ = false;
};

}  // namespace haystack
