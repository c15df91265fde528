#include "control/iot_pipeline.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "control/pseudonym.h"
#include "signatures/hitlist_loader.h"

namespace haystack {

IotPipeline::IotPipeline(const Config& cfg, AlertSink& alerts) : cfg_(cfg), alerts_(alerts) {
  try {
    bundle_ = std::make_shared<const hitlist::Bundle>(hitlist::load_bundle(cfg.iot.hitlist));
  } catch (const hitlist::HitlistError& e) {
    throw ConfigError(e.file(), e.line(), "iot.hitlist: " + e.field(), e.message());
  }
  table_ = hitlist::HitlistTable::compile(*bundle_);
  detection::DetectionConfig dc = cfg.iot.detection;
  engine_ = std::make_unique<detection::DetectionEngine>(
      dc, bundle_, Pseudonymizer::from_state_dir(cfg.state_dir, cfg.iot.pseudonymize));
  std::filesystem::create_directories(cfg.state_dir + "/detections");
  out_path_ = cfg.state_dir + "/detections/detections.jsonl";
  out_.open(out_path_, std::ios::app);
  if (!out_) throw std::runtime_error("cannot open '" + out_path_ + "' for appending");
  spdlog::info("hitlist {}: valid {}..{}, {} services, {} domains, {} endpoints", cfg.iot.hitlist,
               bundle_->valid_from, bundle_->valid_until, bundle_->services.size(),
               bundle_->domains.size(), bundle_->endpoints.size());
}

IotSettings IotPipeline::worker_settings() const {
  IotSettings s;
  s.table = table_.get();
  s.mode = cfg_.mode == Mode::kIsp ? IotMode::kIsp : IotMode::kIxp;
  s.subscriber_prefixes = cfg_.subscriber_prefixes;
  s.line_len_v4 = cfg_.subscriber_ipv4_len;
  s.line_len_v6 = cfg_.subscriber_ipv6_len;
  return s;
}

void IotPipeline::add(const BinRecord& rec) {
  // A bundle is valid for whole UTC days; traffic outside them is still matched (the
  // previous generation is better than none) but raises one alert per day.
  const std::string day = format_time_ns(rec.start_ns).substr(0, 10);
  if ((day < bundle_->valid_from || day > bundle_->valid_until) && day != stale_day_alerted_) {
    stale_day_alerted_ = day;
    Alert a;
    a.time_ns = rec.start_ns;
    a.type = "hitlist_stale";
    a.severity = Severity::kWarning;
    a.subject = cfg_.iot.hitlist;
    a.details = {{"traffic_day", day},
                 {"valid_from", bundle_->valid_from},
                 {"valid_until", bundle_->valid_until}};
    alerts_.emit(a);
  }
  detection::BinEvidence ev;
  ev.start_ns = rec.start_ns;
  ev.end_ns = rec.end_ns;
  rec.iot.for_each([&](const IotLine& l) {
    detection::LineBinEvidence e;
    e.line = detection::LineId::of(l.line, l.len);
    e.domains.assign(l.domains.begin(), l.domains.begin() + l.n_domains);
    std::sort(e.domains.begin(), e.domains.end());
    for (uint8_t i = 0; i < l.n_services; ++i) {
      const auto& s = l.services[i];
      e.services.push_back({s.service, s.packets, s.bytes, s.first_ns, s.last_ns});
    }
    std::sort(e.services.begin(), e.services.end(),
              [](const auto& a, const auto& b) { return a.service < b.service; });
    if (l.n_domains || l.n_services) {
      e.first_ns = l.first_ns;
      e.last_ns = l.last_ns;
    }
    for (uint16_t i = 0; i < l.n_ips; ++i) e.backend_ips.insert(l.ips[i]);
    e.scan_port_connections = l.scan_connections;
    for (uint8_t i = 0; i < l.n_scan; ++i) e.scan_port_destinations.insert(l.scan_targets[i]);
    if (l.domains_overflow || l.services_overflow) ++lines_truncated_;
    ev.lines.push_back(std::move(e));
  });
  ++bins_;
  if (!ev.lines.empty()) engine_->add_bin(ev);
}

void IotPipeline::advance(uint64_t now_ns) { report(engine_->close_until(now_ns)); }

void IotPipeline::finish() {
  report(engine_->close_all());
  out_.flush();
}

void IotPipeline::report(const std::vector<detection::WindowReport>& reports) {
  using ojson = nlohmann::ordered_json;
  for (const auto& w : reports) {
    ++windows_closed_;
    const std::string kind(detection::window_kind_name(w.kind));
    for (const auto& d : w.detections) {
      ojson j;
      j["window"] = kind;
      j["window_start"] = format_time_ns(w.start_ns);
      j["line"] = d.line;
      j["service"] = d.service_key;
      j["level"] = std::string(hitlist::level_name(d.level));
      j["domains"] = d.domains;
      j["domains_required"] = d.domains_required;
      j["domains_total"] = d.domains_total;
      j["packets"] = d.packets;
      j["bytes"] = d.bytes;
      j["first_seen"] = format_time_ns(d.first_seen_ns);
      j["active"] = d.active;
      j["active_hours"] = d.active_hours;
      out_ << j.dump() << "\n";
      ++detections_written_;
    }
    for (const auto& f : w.new_detections) {
      Alert a;
      a.time_ns = f.detected_at_ns;
      a.type = "iot_first_detection";
      a.subject = f.line;
      a.details = {{"line", f.line},
                   {"service", f.service_key},
                   {"level", std::string(hitlist::level_name(f.level))},
                   {"window", std::string(detection::window_kind_name(f.kind))},
                   {"window_start", format_time_ns(f.window_start_ns)},
                   {"time_to_detect_s", f.time_to_detect_ns / 1'000'000'000ULL}};
      alerts_.emit(a);
    }
    for (const auto& e : w.scan_events) {
      Alert a;
      a.time_ns = w.end_ns;
      a.type = "iot_telnet_scan";
      a.severity = Severity::kWarning;
      a.subject = e.line;
      a.details = {{"line", e.line},
                   {"destinations", e.destinations},
                   {"connections", e.connections},
                   {"services", e.services},
                   {"window_start", format_time_ns(w.start_ns)}};
      alerts_.emit(a);
    }
    if (w.kind == detection::WindowKind::kDay) {
      last_day_start_ = w.start_ns;
      last_day_counts_.clear();
      for (const auto& c : w.service_counts) {
        if (c.lines) last_day_counts_[c.service_key] = {c.lines, c.active_lines};
      }
    }
  }
  out_.flush();
}

nlohmann::ordered_json IotPipeline::summary() const {
  nlohmann::ordered_json j;
  j["hitlist"] = {{"file", cfg_.iot.hitlist},
                  {"valid_from", bundle_->valid_from},
                  {"valid_until", bundle_->valid_until},
                  {"services", bundle_->services.size()},
                  {"domains", bundle_->domains.size()},
                  {"endpoints", bundle_->endpoints.size()}};
  j["pseudonymized"] = cfg_.iot.pseudonymize;
  j["windows_closed"] = windows_closed_;
  j["detections_written"] = detections_written_;
  j["late_bins"] = engine_->late_bins();
  j["lines_truncated"] = lines_truncated_;
  nlohmann::ordered_json day = nlohmann::ordered_json::object();
  for (const auto& [svc, n] : last_day_counts_) day[svc] = {{"lines", n.first}, {"active_lines", n.second}};
  j["last_day"] = {{"start", last_day_start_ ? format_time_ns(last_day_start_) : ""},
                   {"service_lines", day}};
  return j;
}

}  // namespace haystack
