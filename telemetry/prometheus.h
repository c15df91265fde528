// Prometheus text exposition (format 0.0.4) and a minimal HTTP endpoint that serves it.
// The control thread renders the metrics once a second and publishes the text; the
// exporter thread only copies the latest text to scrapers, so it never reads daemon
// state and a slow or hostile scraper never reaches the packet path.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace haystack::prom {

enum class Type : uint8_t { kCounter, kGauge };

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// One metric family: HELP and TYPE once, then its samples. Counter names end in _total.
struct Family {
  std::string name;
  std::string help;
  Type type = Type::kCounter;
  std::vector<Sample> samples;
};

// [a-zA-Z_:][a-zA-Z0-9_:]* (metric) and [a-zA-Z_][a-zA-Z0-9_]* (label).
bool valid_metric_name(std::string_view s);
bool valid_label_name(std::string_view s);

// The exposition text. Throws std::invalid_argument on an invalid or duplicate name, or
// a counter whose name does not end in _total (our own bug, caught by the unit tests).
std::string render(const std::vector<Family>& families);

struct ExporterCounters {
  uint64_t scrapes = 0;        // 200 responses on /metrics
  uint64_t bad_requests = 0;   // 4xx responses
  uint64_t connections = 0;
};

class HttpExporter {
 public:
  // Binds host:port (port 0: any free port) and starts serving; throws
  // std::runtime_error naming the address when it cannot listen.
  HttpExporter(const std::string& host, uint16_t port);
  ~HttpExporter();
  HttpExporter(const HttpExporter&) = delete;
  HttpExporter& operator=(const HttpExporter&) = delete;

  void publish(std::string text);
  uint16_t port() const { return port_; }
  ExporterCounters counters() const;

 private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::string text_;
  ExporterCounters counters_;
  std::thread thread_;
};

}  // namespace haystack::prom
