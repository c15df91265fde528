#include "control/iot_pipeline.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>

#include "control/pseudonym.h"
#include "signatures/hitlist_loader.h"

namespace haystack {

IotPipeline::IotPipeline(const Config& cfg, AlertSink& alerts,
                         const hitlist::NameMatcherSpec* names)
    : cfg_(cfg), alerts_(alerts), names_(names), outage_(cfg.iot.outage) {
  try {
    current_ = hitlist::load_generation(cfg.iot.hitlist, 1, names_);
  } catch (const hitlist::HitlistError& e) {
    // A provider pattern that Hyperscan rejects is a learning.backend_patterns problem.
    const bool backend = e.field().rfind("backend.", 0) == 0;
    throw ConfigError(e.file(), e.line(),
                      (backend ? "learning.backend_patterns: " : "iot.hitlist: ") + e.field(),
                      e.message());
  }
  detection::DetectionConfig dc = cfg.iot.detection;
  engine_ = std::make_unique<detection::DetectionEngine>(
      dc, current_->bundle, Pseudonymizer::from_state_dir(cfg.state_dir, cfg.iot.pseudonymize));
  std::filesystem::create_directories(cfg.state_dir + "/detections");
  out_path_ = cfg.state_dir + "/detections/detections.jsonl";
  out_.open(out_path_, std::ios::app);
  if (!out_) throw std::runtime_error("cannot open '" + out_path_ + "' for appending");
  log_generation("loaded");
}

void IotPipeline::log_generation(const char* what) const {
  const hitlist::Bundle& b = *current_->bundle;
  spdlog::info("hitlist generation {} {} from {}: valid {}..{}, {} services, {} domains, {} "
               "endpoints",
               current_->number, what, current_->path, b.valid_from, b.valid_until,
               b.services.size(), b.domains.size(), b.endpoints.size());
}

IotPipeline::GenerationPtr IotPipeline::load(const std::string& path) const {
  return hitlist::load_generation(path, current_->number + 1, names_);
}

void IotPipeline::adopt(GenerationPtr g) {
  engine_->set_bundle(g->bundle);
  older_[current_->number] = std::move(current_);
  current_ = std::move(g);
  id_maps_.clear();  // built lazily against the new current bundle
  ++reloads_;
  log_generation("active");
}

void IotPipeline::forget(uint64_t generation) {
  older_.erase(generation);
  id_maps_.erase(generation);
}

IotSettings subscriber_settings(const Config& cfg) {
  IotSettings s;
  s.mode = cfg.mode == Mode::kIsp ? IotMode::kIsp : IotMode::kIxp;
  s.subscriber_prefixes = cfg.subscriber_prefixes;
  s.line_len_v4 = cfg.subscriber_ipv4_len;
  s.line_len_v6 = cfg.subscriber_ipv6_len;
  s.eui64 = cfg.eui64.enabled;
  return s;
}

IotSettings IotPipeline::worker_settings() const {
  IotSettings s = subscriber_settings(cfg_);
  s.table = current_->table.get();
  return s;
}

void IotPipeline::add(const BinRecord& rec) {
  const hitlist::Generation* gen = current_.get();
  const detection::BundleIdMap* to_current = nullptr;
  if (rec.hitlist_generation != current_->number) {
    auto it = older_.find(rec.hitlist_generation);
    if (it == older_.end()) {
      ++records_unknown_generation_;
      return;
    }
    gen = it->second.get();
    to_current = &id_maps_.try_emplace(gen->number, *gen->bundle, *current_->bundle).first->second;
    ++records_translated_;
  }
  const hitlist::Bundle& bundle = *gen->bundle;
  // A bundle is valid for whole UTC days; traffic outside them is still matched (the
  // previous generation is better than none) but raises one alert per day.
  const std::string day = format_time_ns(rec.start_ns).substr(0, 10);
  if ((day < bundle.valid_from || day > bundle.valid_until) && day != stale_day_alerted_) {
    stale_day_alerted_ = day;
    Alert a;
    a.time_ns = rec.start_ns;
    a.type = "hitlist_stale";
    a.severity = Severity::kWarning;
    a.subject = gen->path;
    a.details = {{"traffic_day", day},
                 {"generation", gen->number},
                 {"valid_from", bundle.valid_from},
                 {"valid_until", bundle.valid_until}};
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
    if (to_current != nullptr) to_current->apply(e);
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
  if (!reports.empty()) {
    for (const auto& sink : report_sinks_) sink(reports);
  }
  for (const auto& w : reports) {
    ++windows_closed_;
    for (const auto& d : w.detections) {
      ReportedDetection r{w.kind, w.start_ns, d};
      out_ << detection_json(r).dump() << "\n";
      ++detections_written_;
      if (recent_.size() == kRecentDetections) {
        recent_.pop_front();
        ++recent_evicted_;
      }
      recent_.push_back(std::move(r));
    }
    WindowServiceLines wl{w.kind, w.start_ns, {}};
    for (const auto& c : w.service_counts) {
      if (c.lines) wl.services.push_back(c);
    }
    if (windows_.size() == kRecentWindows) windows_.pop_front();
    windows_.push_back(std::move(wl));
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
    if (w.kind == detection::WindowKind::kHour) check_outage(w);
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

void IotPipeline::check_outage(const detection::WindowReport& w) {
  std::map<std::string, uint64_t> lines;
  for (const auto& c : w.service_counts) lines[c.service_key] = c.lines;
  for (const auto& e : outage_.observe_hour(w.start_ns, lines)) {
    Alert a;
    a.time_ns = w.end_ns;
    a.type = "iot_service_outage";
    a.severity = Severity::kWarning;
    a.subject = e.service_key;
    a.details = {{"service", e.service_key},
                 {"hour_start", format_time_ns(e.hour_start_ns)},
                 {"lines", e.lines},
                 {"lines_day_before", e.lines_day_before},
                 {"drop_percent", std::round(e.drop_percent * 10) / 10}};
    alerts_.emit(a);
  }
}

nlohmann::ordered_json IotPipeline::detection_json(const ReportedDetection& r) {
  const detection::Detection& d = r.d;
  nlohmann::ordered_json j;
  j["window"] = std::string(detection::window_kind_name(r.kind));
  j["window_start"] = format_time_ns(r.window_start_ns);
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
  return j;
}

nlohmann::ordered_json IotPipeline::summary() const {
  nlohmann::ordered_json j;
  const hitlist::Bundle& b = *current_->bundle;
  j["hitlist"] = {{"file", current_->path},
                  {"generation", current_->number},
                  {"valid_from", b.valid_from},
                  {"valid_until", b.valid_until},
                  {"services", b.services.size()},
                  {"domains", b.domains.size()},
                  {"endpoints", b.endpoints.size()}};
  j["reloads"] = {{"ok", reloads_},
                  {"failed", reloads_failed_},
                  {"records_translated", records_translated_},
                  {"records_unknown_generation", records_unknown_generation_}};
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
