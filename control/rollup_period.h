// Which roll-up period a time belongs to. Periods are aligned to the Unix epoch, except
// whole weeks: those are ISO weeks, starting Monday 00:00 UTC (the epoch was a Thursday,
// so plain epoch alignment would start weeks on Thursdays). Shared by the in-memory
// roll-ups (FlowSummaries) and the store's restart-safe ones, so both agree.
#pragma once

#include <cstdint>

namespace haystack {

inline constexpr uint64_t kWeekSeconds = 7 * 86400;
// 1970-01-05, the first Monday after the epoch.
inline constexpr uint64_t kFirstMondaySeconds = 4 * 86400;

// Start (UTC seconds) of the `seconds`-long period containing t (UTC seconds).
inline uint64_t period_start(uint64_t t, uint32_t seconds) {
  if (seconds == 0) return t;
  if (seconds % kWeekSeconds == 0) {
    // Shift so that Mondays are multiples of the length. The days before 1970-01-05
    // (never real traffic) form a short first period starting at the epoch.
    if (t < kFirstMondaySeconds) return 0;
    const uint64_t shifted = t - kFirstMondaySeconds;
    return shifted - shifted % seconds + kFirstMondaySeconds;
  }
  return t - t % seconds;
}

inline uint64_t period_start_ns(uint64_t t_ns, uint32_t seconds) {
  const uint64_t s = t_ns / 1'000'000'000ULL;
  return period_start(s, seconds) * 1'000'000'000ULL;
}

}  // namespace haystack
