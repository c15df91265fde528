#include "control/ipfix/exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <optional>
#include <set>

#include "control/detection.h"

namespace haystack::ipfix {

namespace {
constexpr int kConnectTimeoutMs = 2000;
constexpr int kSendTimeoutMs = 2000;
constexpr size_t kTcpMessageBytes = 65535;
}  // namespace

Exporter::Exporter(const Config& cfg)
    : cfg_(cfg.ipfix),
      sampling_(cfg.sampling),
      tree_sets_(cfg.flowtree.feature_sets),
      tr_(cfg.ipfix.host, cfg.ipfix.port, cfg.ipfix.tcp) {
  std::set<uint8_t> shapes;
  for (flowtree::FeatureSet fs : cfg_.feature_sets) {
    for (uint8_t s : shapes_of(flowtree::Hierarchy(fs, cfg.flowtree.protocol_key)))
      shapes.insert(s);
  }
  for (uint8_t s : shapes) templates_.push_back(flow_template(s));
  if (cfg_.detections && !cfg.iot.hitlist.empty()) templates_.push_back(detection_template());
  if (cfg_.eui64 && cfg.eui64.enabled) {
    templates_.push_back(eui_window_template());
    templates_.push_back(eui_exposure_template());
  }
  thread_ = std::thread([this] { run(); });
}

Exporter::~Exporter() {
  stop(0);
}

size_t Exporter::records_of(const Item& i) {
  if (const auto* t = std::get_if<TreeBatch>(&i)) return t->nodes.size();
  if (const auto* e = std::get_if<EuiBatch>(&i)) return 1 + e->exposures.size();
  return std::get<std::vector<DetectionRecord>>(i).size();
}

void Exporter::on_site_trees(const SiteTrees& s) {
  const auto& g = cfg_.granularities;
  if (std::find(g.begin(), g.end(), s.seconds) == g.end()) return;
  TreeBatch b;
  b.start_s = uint32_t(s.start_ns / 1'000'000'000ULL);
  b.end_s = b.start_s + s.seconds;
  for (flowtree::FeatureSet fs : cfg_.feature_sets) {
    auto it = std::find(tree_sets_.begin(), tree_sets_.end(), fs);
    if (it != tree_sets_.end()) append_nodes(s.trees[size_t(it - tree_sets_.begin())], b.nodes);
  }
  const size_t n = b.nodes.size();
  if (n) enqueue(std::move(b), n);
}

void Exporter::on_windows(const std::vector<detection::WindowReport>& reports) {
  if (!cfg_.detections) return;
  std::vector<DetectionRecord> all;
  for (const auto& w : reports) {
    std::vector<DetectionRecord> r = detection_records(w);
    std::move(r.begin(), r.end(), std::back_inserter(all));
  }
  const size_t n = all.size();
  if (n) enqueue(std::move(all), n);
}

void Exporter::on_eui64(const nlohmann::ordered_json& report) {
  if (!cfg_.eui64) return;
  EuiBatch b = eui_records(report);
  const size_t n = 1 + b.exposures.size();
  enqueue(std::move(b), n);
}

void Exporter::enqueue(Item&& item, size_t records) {
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queued_ + records > cfg_.queue_records) {
      c_.dropped_queue_full += records;
      return;
    }
    queued_ += records;
    queue_.push_back(std::move(item));
    c_.records_queued += records;
    c_.queue_records = queued_;
  }
  cv_.notify_one();
}

void Exporter::stop(int flush_ms) {
  {
    std::lock_guard lk(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    flush_deadline_ = Clock::now() + std::chrono::milliseconds(flush_ms);
  }
  cv_.notify_one();
  thread_.join();
}

bool Exporter::connect() {
  if (!tr_.open(kConnectTimeoutMs)) {
    ++c_.connect_failures;
    spdlog::warn("ipfix: collector {}:{} ({}): {}; retrying in {} ms", cfg_.host, cfg_.port,
                 cfg_.tcp ? "tcp" : "udp", tr_.error(), backoff_.count());
    next_connect_ = Clock::now() + backoff_;
    backoff_ = std::min<std::chrono::milliseconds>(
        backoff_ * 2, std::chrono::seconds(cfg_.reconnect_max_seconds));
    return false;
  }
  ++c_.connects;
  backoff_ = std::chrono::milliseconds(500);
  // UDP: the datagram must fit the path MTU after the IP and UDP headers.
  const size_t max = cfg_.tcp ? kTcpMessageBytes : cfg_.mtu - (tr_.ipv6() ? 48 : 28);
  if (!mb_ || mb_->max_bytes() != (max & ~size_t{3})) {
    mb_ = std::make_unique<MessageBuilder>(cfg_.observation_domain, max);
  }
  if (cfg_.tcp) mb_->reset_sequence();  // a connection is a new stream
  spdlog::info("ipfix: exporting to {}:{} over {}, observation domain {}", cfg_.host, cfg_.port,
               cfg_.tcp ? "tcp" : "udp", cfg_.observation_domain);
  send_templates(true);
  return tr_.is_open();
}

void Exporter::disconnect() {
  tr_.close();
  next_connect_ = Clock::now() + backoff_;
}

void Exporter::send_templates(bool options_too) {
  mb_->set_export_time(uint32_t(std::time(nullptr)));
  for (const Template& t : templates_) mb_->add_template(t);
  if (options_too) {
    mb_->add_template(sampling_template());
    for (const SamplingRecord& r : sampling_records(sampling_)) {
      std::vector<uint8_t> rec;
      encode_sampling(r, rec);
      mb_->add_record(kSamplingTemplateId, rec);
    }
  }
  ++c_.template_sends;
  const auto now = Clock::now();
  next_templates_ = now + std::chrono::seconds(cfg_.template_refresh_seconds);
  if (options_too) next_options_ = now + std::chrono::seconds(cfg_.options_refresh_seconds);
  flush(false);
}

bool Exporter::flush(bool summaries) {
  std::vector<Message> msgs = mb_->take();
  for (size_t i = 0; i < msgs.size(); ++i) {
    const uint64_t recs = summaries ? msgs[i].data_records : 0;
    if (tr_.send(msgs[i].bytes, kSendTimeoutMs)) {
      ++c_.messages;
      c_.bytes += msgs[i].bytes.size();
      c_.records_exported += recs;
      continue;
    }
    ++c_.send_errors;
    c_.dropped_unsent += recs;
    if (cfg_.tcp) {
      spdlog::warn("ipfix: {}; reconnecting", tr_.error());
      for (size_t j = i + 1; j < msgs.size(); ++j)
        c_.dropped_unsent += summaries ? msgs[j].data_records : 0;
      disconnect();
      return false;
    }
  }
  return true;
}

bool Exporter::send_item(const Item& item) {
  mb_->set_export_time(uint32_t(std::time(nullptr)));
  std::vector<uint8_t> rec;
  if (const auto* t = std::get_if<TreeBatch>(&item)) {
    for (const NodeRecord& n : t->nodes) {
      rec.clear();
      encode_node(*t, n, rec);
      mb_->add_record(uint16_t(kFlowTemplateBase + n.shape), rec);
    }
  } else if (const auto* e = std::get_if<EuiBatch>(&item)) {
    encode_eui_window(e->window, rec);
    mb_->add_record(kEuiWindowTemplateId, rec);
    for (const EuiExposureRecord& x : e->exposures) {
      rec.clear();
      encode_eui_exposure(x, rec);
      mb_->add_record(kEuiExposureTemplateId, rec);
    }
  } else {
    for (const DetectionRecord& d : std::get<std::vector<DetectionRecord>>(item)) {
      rec.clear();
      encode_detection(d, rec);
      mb_->add_record(kDetectionTemplateId, rec);
    }
  }
  return flush(true);
}

// The exporter thread: (re)connects, refreshes templates (UDP), sends queued items.
void Exporter::run() {
  for (;;) {
    std::optional<Item> item;
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      const auto now = Clock::now();
      auto wake = now + std::chrono::seconds(1);
      if (tr_.is_open() && !cfg_.tcp) wake = std::min({wake, next_templates_, next_options_});
      if (!tr_.is_open()) wake = std::min(wake, next_connect_);
      cv_.wait_until(lk, wake, [&] { return stopping_ || (!queue_.empty() && tr_.is_open()); });
      stopping = stopping_;
      if (stopping && (queue_.empty() || Clock::now() >= flush_deadline_)) break;
    }
    if (!tr_.is_open()) {
      // Stopping: one last attempt, no waiting for the backoff.
      if (Clock::now() >= next_connect_ || stopping) connect();
      if (!tr_.is_open()) {
        if (stopping) break;
        continue;
      }
    }
    if (!cfg_.tcp) {
      const auto now = Clock::now();
      if (now >= next_options_) {
        send_templates(true);
      } else if (now >= next_templates_) {
        send_templates(false);
      }
    }
    {
      std::lock_guard lk(mu_);
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
        queued_ -= records_of(*item);
        c_.queue_records = queued_;
      }
    }
    if (item) send_item(*item);
  }
  // Whatever is still queued cannot be sent in time: counted, not lost silently.
  std::lock_guard lk(mu_);
  c_.dropped_unsent += queued_;
  queued_ = 0;
  queue_.clear();
  c_.queue_records = 0;
  tr_.close();
}

nlohmann::ordered_json Exporter::to_json() const {
  nlohmann::ordered_json j;
  j["collector"] = cfg_.host + ":" + std::to_string(cfg_.port);
  j["transport"] = cfg_.tcp ? "tcp" : "udp";
  j["observation_domain"] = cfg_.observation_domain;
  j["records_queued"] = c_.records_queued.load();
  j["records_exported"] = c_.records_exported.load();
  j["dropped_queue_full"] = c_.dropped_queue_full.load();
  j["dropped_unsent"] = c_.dropped_unsent.load();
  j["messages"] = c_.messages.load();
  j["bytes"] = c_.bytes.load();
  j["template_sends"] = c_.template_sends.load();
  j["send_errors"] = c_.send_errors.load();
  j["connects"] = c_.connects.load();
  j["connect_failures"] = c_.connect_failures.load();
  j["queue_records"] = c_.queue_records.load();
  return j;
}

}  // namespace haystack::ipfix
