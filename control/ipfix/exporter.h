// IPFIX exporter: the control thread hands over completed site trees, closed
// detection windows and EUI-64 windows (converted to plain records, filtered by the `ipfix:` config); a
// thread of its own encodes and sends them. The queue between them is bounded in
// records: when it is full a batch is dropped and counted, so a slow or dead collector
// never blocks control (and so never the workers). TCP reconnects with exponential
// backoff; what is queued waits for the connection, and what cannot be sent is counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/config.h"
#include "control/flow_summaries.h"
#include "control/ipfix/records.h"
#include "control/ipfix/transport.h"

namespace haystack::detection {
struct WindowReport;
}

namespace haystack::ipfix {

struct ExporterCounters {
  std::atomic<uint64_t> records_queued{0};      // accepted into the queue
  std::atomic<uint64_t> records_exported{0};    // data records in messages sent
  std::atomic<uint64_t> dropped_queue_full{0};  // records refused: queue full
  std::atomic<uint64_t> dropped_unsent{0};      // records lost: send failed / stopped unconnected
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> template_sends{0};  // times the template sets went out
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> connect_failures{0};
  std::atomic<uint64_t> queue_records{0};  // gauge: records waiting
};

class Exporter {
 public:
  explicit Exporter(const Config& cfg);
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // Control thread: never blocks on the network.
  void on_site_trees(const SiteTrees& s);
  void on_windows(const std::vector<detection::WindowReport>& reports);
  // One closed EUI-64 window (the report Eui64Pipeline writes).
  void on_eui64(const nlohmann::ordered_json& report);
  // Sends what is queued (for at most flush_ms if the collector is slow or gone), stops
  // the thread; what is left is counted in dropped_unsent.
  void stop(int flush_ms = 5000);

  const ExporterCounters& counters() const { return c_; }
  nlohmann::ordered_json to_json() const;

 private:
  using Item = std::variant<TreeBatch, std::vector<DetectionRecord>, EuiBatch>;
  static size_t records_of(const Item& i);
  void enqueue(Item&& item, size_t records);
  void run();
  using Clock = std::chrono::steady_clock;
  bool connect();
  void disconnect();
  void send_templates(bool options_too);
  // Encodes one item and sends it; false when the connection failed.
  bool send_item(const Item& item);
  // Sends every finished message of mb_; records of unsent messages count as dropped
  // (summaries: false for the sampling options records).
  bool flush(bool summaries);

  IpfixConfig cfg_;
  SamplingConfig sampling_;
  std::vector<flowtree::FeatureSet> tree_sets_;  // SiteTrees order
  std::vector<Template> templates_;              // flow + detection templates
  ExporterCounters c_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t queued_ = 0;  // records in queue_
  bool stopping_ = false;
  std::chrono::steady_clock::time_point flush_deadline_;
  std::thread thread_;

  // Exporter thread only.
  Transport tr_;
  std::unique_ptr<MessageBuilder> mb_;
  Clock::time_point next_connect_{}, next_templates_{}, next_options_{};
  std::chrono::milliseconds backoff_{500};
};

}  // namespace haystack::ipfix
