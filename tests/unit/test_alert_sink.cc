#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <boost/test/unit_test.hpp>

#include "control/alert_sink.h"

using namespace haystack;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("haystack_test_alerts_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(f, l)) lines.push_back(l);
  return lines;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

Alert rx_drops() {
  Alert a;
  a.time_ns = 1795341600000000042ULL;  // 2026-11-22T10:00:00.000000042Z
  a.type = "rx_drops";
  a.severity = Severity::kWarning;
  a.subject = "uplink0";
  // nlohmann::json objects keep their keys sorted.
  a.details = {{"port", "uplink0"}, {"imissed", 12}, {"ierrors", 0}, {"rx_nombuf", 3}};
  return a;
}

// Captures what the sink logs (instead of printing it) for the duration of a test.
struct CaptureLog {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  CaptureLog() {
    auto logger = std::make_shared<spdlog::logger>("alert_sink_test", ring);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~CaptureLog() { spdlog::set_default_logger(previous); }
  std::vector<std::string> lines() const { return ring->last_formatted(); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(alert_sink, CaptureLog)

BOOST_AUTO_TEST_CASE(format_time) {
  BOOST_TEST(format_time_ns(0) == "1970-01-01T00:00:00.000000000Z");
  BOOST_TEST(format_time_ns(1) == "1970-01-01T00:00:00.000000001Z");
  BOOST_TEST(format_time_ns(999999999) == "1970-01-01T00:00:00.999999999Z");
  BOOST_TEST(format_time_ns(1795341600000000000ULL) == "2026-11-22T10:00:00.000000000Z");
  BOOST_TEST(format_time_ns(1795341600123456789ULL) == "2026-11-22T10:00:00.123456789Z");
  // Leap days.
  BOOST_TEST(format_time_ns(1709251199999999999ULL) == "2024-02-29T23:59:59.999999999Z");
  BOOST_TEST(format_time_ns(1709251200000000000ULL) == "2024-03-01T00:00:00.000000000Z");
  BOOST_TEST(format_time_ns(951827696000000000ULL) == "2000-02-29T12:34:56.000000000Z");
  // The largest representable time.
  BOOST_TEST(format_time_ns(~uint64_t{0}) == "2554-07-21T23:34:33.709551615Z");
}

BOOST_AUTO_TEST_CASE(severity_names) {
  BOOST_TEST(severity_name(Severity::kInfo) == "info");
  BOOST_TEST(severity_name(Severity::kWarning) == "warning");
  BOOST_TEST(severity_name(Severity::kCritical) == "critical");
}

BOOST_AUTO_TEST_CASE(json_line_exact) {
  BOOST_TEST(AlertSink::to_json_line(rx_drops(), "fra1") ==
             R"({"time":"2026-11-22T10:00:00.000000042Z","time_ns":1795341600000000042,)"
             R"("site":"fra1","type":"rx_drops","severity":"warning","subject":"uplink0",)"
             R"("details":{"ierrors":0,"imissed":12,"port":"uplink0","rx_nombuf":3}})");

  Alert start;
  start.type = "daemon_start";
  BOOST_TEST(AlertSink::to_json_line(start, "s") ==
             R"({"time":"1970-01-01T00:00:00.000000000Z","time_ns":0,"site":"s",)"
             R"("type":"daemon_start","severity":"info","subject":"","details":{}})");

  // Null details become an empty object; strings are escaped; bad UTF-8 is replaced.
  Alert odd;
  odd.type = "bin_ring_full";
  odd.severity = Severity::kCritical;
  odd.subject = "a\"b\\c\n\xff";
  odd.details = nullptr;
  BOOST_TEST(AlertSink::to_json_line(odd, "s") ==
             "{\"time\":\"1970-01-01T00:00:00.000000000Z\",\"time_ns\":0,\"site\":\"s\","
             "\"type\":\"bin_ring_full\",\"severity\":\"critical\",\"subject\":"
             "\"a\\\"b\\\\c\\n\xef\xbf\xbd\","
             "\"details\":{}}");
}

BOOST_AUTO_TEST_CASE(writes_lines_and_appends) {
  TempDir d;
  const auto path = d.path / "sub" / "dir" / "alerts.jsonl";  // parents are created
  {
    AlertSink sink(path.string(), "fra1");
    Alert a;
    a.time_ns = 1795341600000000000ULL;
    a.type = "daemon_start";
    a.subject = "haystackd";
    a.details = {{"version", "0.1.0"}};
    sink.emit(a);
    // Flushed after each line: readable before the sink closes.
    BOOST_TEST(read_all(path) ==
               R"({"time":"2026-11-22T10:00:00.000000000Z","time_ns":1795341600000000000,)"
               R"("site":"fra1","type":"daemon_start","severity":"info","subject":"haystackd",)"
               R"("details":{"version":"0.1.0"}})"
               "\n");
    sink.emit(rx_drops());
    BOOST_TEST(sink.emitted() == 2u);
    BOOST_TEST(sink.write_errors() == 0u);
  }
  {
    AlertSink sink(path.string(), "fra1");
    Alert b;
    b.time_ns = 1795341660000000000ULL;
    b.type = "bin_ring_full";
    b.severity = Severity::kWarning;
    b.subject = "worker1";
    b.details = {{"worker", 1}, {"count", 2}};
    sink.emit(b);
    BOOST_TEST(sink.emitted() == 1u);
  }
  const std::vector<std::string> lines = read_lines(path);
  BOOST_REQUIRE_EQUAL(lines.size(), 3u);
  BOOST_TEST(lines[0] ==
             R"({"time":"2026-11-22T10:00:00.000000000Z","time_ns":1795341600000000000,)"
             R"("site":"fra1","type":"daemon_start","severity":"info","subject":"haystackd",)"
             R"("details":{"version":"0.1.0"}})");
  BOOST_TEST(lines[1] == AlertSink::to_json_line(rx_drops(), "fra1"));
  BOOST_TEST(lines[2] ==
             R"({"time":"2026-11-22T10:01:00.000000000Z","time_ns":1795341660000000000,)"
             R"("site":"fra1","type":"bin_ring_full","severity":"warning","subject":"worker1",)"
             R"("details":{"count":2,"worker":1}})");
  // Every line parses back to the same alert.
  const auto j = nlohmann::json::parse(lines[1]);
  BOOST_TEST(j["details"]["imissed"].get<int>() == 12);
  BOOST_TEST(j["time_ns"].get<uint64_t>() == 1795341600000000042ULL);
}

BOOST_AUTO_TEST_CASE(empty_path_logs_only) {
  AlertSink sink("", "s");
  Alert info;
  info.type = "daemon_stop";
  Alert crit = info;
  crit.severity = Severity::kCritical;
  sink.emit(info);
  sink.emit(rx_drops());
  sink.emit(crit);
  BOOST_TEST(sink.emitted() == 3u);
  BOOST_TEST(sink.write_errors() == 0u);
  // Each alert is logged once, at the level of its severity.
  const std::vector<std::string> logged = lines();
  BOOST_REQUIRE_EQUAL(logged.size(), 3u);
  BOOST_TEST(logged[0] == "info alert: " + AlertSink::to_json_line(info, "s") + "\n");
  BOOST_TEST(logged[1] == "warning alert: " + AlertSink::to_json_line(rx_drops(), "s") + "\n");
  BOOST_TEST(logged[2] == "critical alert: " + AlertSink::to_json_line(crit, "s") + "\n");
}

BOOST_AUTO_TEST_CASE(unwritable_paths_throw) {
  TempDir d;
  const auto file = d.path / "plain_file";
  { std::ofstream(file) << "x"; }

  // A parent "directory" that is a regular file.
  const std::string under_file = (file / "alerts.jsonl").string();
  try {
    AlertSink sink(under_file, "s");
    BOOST_ERROR("no exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(under_file) != std::string::npos, what);
  }
  // The path itself is a directory.
  const std::string dir = d.path.string();
  try {
    AlertSink sink(dir, "s");
    BOOST_ERROR("no exception");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(dir) != std::string::npos, what);
    BOOST_TEST(what.find("Is a directory") != std::string::npos, what);
  }
}

BOOST_AUTO_TEST_CASE(write_errors_are_counted) {
  if (!std::filesystem::exists("/dev/full")) return;
  AlertSink sink("/dev/full", "s");
  sink.emit(rx_drops());
  sink.emit(rx_drops());
  BOOST_TEST(sink.emitted() == 2u);
  BOOST_TEST(sink.write_errors() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
