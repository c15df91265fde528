#include "control/alert_sink.h"

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace haystack {

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "info";
}

std::string format_time_ns(uint64_t t_ns) {
  const std::time_t secs = static_cast<std::time_t>(t_ns / 1'000'000'000ULL);
  const uint64_t frac = t_ns % 1'000'000'000ULL;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09" PRIu64 "Z", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<uint64_t> parse_time_seconds(std::string_view t) {
  auto digits = [&](size_t pos, size_t n, int& out) {
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, s;
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z' || !digits(0, 4, y) || !digits(5, 2, mo) || !digits(8, 2, d) ||
      !digits(11, 2, h) || !digits(14, 2, mi) || !digits(17, 2, s) || mo < 1 || mo > 12 ||
      d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) {
    return std::nullopt;
  }
  if (t.size() > 20) {
    if (t[19] != '.') return std::nullopt;
    for (size_t i = 20; i + 1 < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
    }
  }
  std::tm tm{};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
  return uint64_t(timegm(&tm));
}

std::string AlertSink::to_json_line(const Alert& a, const std::string& site) {
  nlohmann::ordered_json j;
  j["time"] = format_time_ns(a.time_ns);
  j["time_ns"] = a.time_ns;
  j["site"] = site;
  j["type"] = a.type;
  j["severity"] = severity_name(a.severity);
  j["subject"] = a.subject;
  if (a.details.is_null()) {
    j["details"] = nlohmann::ordered_json::object();
  } else if (a.details.is_object()) {
    j["details"] = nlohmann::ordered_json(a.details);
  } else {
    j["details"] = nlohmann::ordered_json{{"value", nlohmann::ordered_json(a.details)}};
  }
  // Invalid UTF-8 (e.g. from a packet-derived name) is replaced, never thrown on.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

AlertSink::AlertSink(const std::string& path, std::string site)
    : path_(path), site_(std::move(site)) {
  if (path_.empty()) return;
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("alert file " + path_ + ": cannot create directory " +
                               parent.string() + ": " + ec.message());
    }
  }
  f_ = std::fopen(path_.c_str(), "ae");  // append, close-on-exec
  if (f_ == nullptr) {
    throw std::runtime_error("alert file " + path_ +
                             ": cannot open for appending: " + std::strerror(errno));
  }
}

AlertSink::~AlertSink() {
  if (f_ != nullptr) std::fclose(f_);
}

void AlertSink::emit(const Alert& a) {
  const std::string line = to_json_line(a, site_);
  std::lock_guard<std::mutex> lock(mu_);
  if (f_ != nullptr) {
    const std::string out = line + '\n';  // one write per line keeps lines whole
    const bool ok =
        std::fwrite(out.data(), 1, out.size(), f_) == out.size() && std::fflush(f_) == 0;
    if (!ok) {
      ++write_errors_;
      std::clearerr(f_);
    }
  }
  ++emitted_;
  for (const Listener& l : listeners_) l(a, line);
  uint64_t suppressed = 0;
  const uint64_t now = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count());
  if (!limiter_.allow(a.type + "/" + a.subject, now, suppressed)) {
    log_suppressed_.store(limiter_.suppressed_total(), std::memory_order_relaxed);
    return;
  }
  const std::string note =
      suppressed ? fmt::format(" ({} similar alerts not logged)", suppressed) : std::string();
  switch (a.severity) {
    case Severity::kInfo:
      spdlog::info("alert: {}{}", line, note);
      break;
    case Severity::kWarning:
      spdlog::warn("alert: {}{}", line, note);
      break;
    case Severity::kCritical:
      spdlog::critical("alert: {}{}", line, note);
      break;
  }
}

}  // namespace haystack
