// AlertSink: the one place alerts leave control. Each alert is one JSON object per line
// (schema in docs/operations.md#alerts), appended to the alert file, flushed, and logged.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "telemetry/log_limiter.h"

namespace haystack {

enum class Severity : uint8_t { kInfo, kWarning, kCritical };
std::string_view severity_name(Severity s);

struct Alert {
  uint64_t time_ns = 0;        // event time (packet time in replay, wall clock live)
  std::string type;            // e.g. "daemon_start", "rx_drops"
  Severity severity = Severity::kInfo;
  std::string subject;         // what the alert is about, e.g. a port name
  nlohmann::json details = nlohmann::json::object();
};

class AlertSink {
 public:
  // Opens `path` for appending (creating parent directories). Throws std::runtime_error
  // naming the path when it cannot. An empty path disables the file (log only).
  AlertSink(const std::string& path, std::string site);
  ~AlertSink();
  AlertSink(const AlertSink&) = delete;
  AlertSink& operator=(const AlertSink&) = delete;

  void emit(const Alert& a);
  // At most `per_minute` log lines per (type, subject); the alert file gets every alert.
  void set_log_limit(uint32_t per_minute) { limiter_ = LogLimiter(per_minute); }
  uint64_t log_suppressed() const { return log_suppressed_.load(std::memory_order_relaxed); }

  // Called with every alert and its JSON line, in emit order, on the emitting thread
  // (the control socket's recent-alerts ring and followers). A listener must be quick
  // and must not emit alerts itself. Add listeners before alerts flow.
  using Listener = std::function<void(const Alert&, const std::string& line)>;
  void add_listener(Listener l) { listeners_.push_back(std::move(l)); }
  uint64_t emitted() const { return emitted_.load(std::memory_order_relaxed); }
  uint64_t write_errors() const { return write_errors_.load(std::memory_order_relaxed); }

  // The JSON line for an alert, without the trailing newline.
  static std::string to_json_line(const Alert& a, const std::string& site);

 private:
  std::string path_;
  std::string site_;
  std::FILE* f_ = nullptr;
  std::vector<Listener> listeners_;
  std::mutex mu_;  // control threads only; never taken on the packet path
  std::atomic<uint64_t> emitted_{0};  // read by telemetry without the mutex
  std::atomic<uint64_t> write_errors_{0};
  LogLimiter limiter_;
  std::atomic<uint64_t> log_suppressed_{0};
};

// RFC 3339 UTC with nanoseconds, e.g. 2026-11-22T10:00:00.000000000Z
std::string format_time_ns(uint64_t t_ns);
// The reverse for whole seconds: "YYYY-MM-DDTHH:MM:SS[.fraction]Z" -> Unix seconds, or
// nullopt when the text is not such a UTC time (what reports and alerts carry).
std::optional<uint64_t> parse_time_seconds(std::string_view t);

}  // namespace haystack
