#include "control/eui64_pipeline.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "control/alert_sink.h"
#include "control/detection.h"

namespace haystack {

namespace {

using detection::kDayNs;
using detection::kHourNs;

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

IpAddr prefix_addr(uint64_t p56) {
  IpAddr a;
  for (int i = 0; i < 7; ++i) a.b[size_t(i)] = uint8_t(p56 >> (8 * (6 - i)));
  return a;
}
}  // namespace

Eui64Pipeline::Eui64Pipeline(const Config& cfg)
    : cfg_(cfg), ids_(Pseudonymizer::from_state_dir(cfg.state_dir, cfg.iot.pseudonymize)) {
  std::vector<std::string> files = cfg.eui64.oui_files;
  if (files.empty()) files = oui::OuiDb::default_paths();
  if (files.empty()) {
    spdlog::warn("eui64: no IEEE registry files (install Debian's ieee-data or set "
                 "eui64.oui_files); manufacturers will be reported as unknown");
  }
  try {
    db_ = oui::OuiDb::load(files);
  } catch (const oui::OuiError& e) {
    throw ConfigError(cfg.source_file, cfg.eui64.line, "eui64.oui_files", e.what());
  }
  std::filesystem::create_directories(cfg.state_dir + "/eui64");
  const std::string path = cfg.state_dir + "/eui64/eui64.jsonl";
  out_.open(path, std::ios::app);
  if (!out_) throw std::runtime_error("cannot open '" + path + "' for appending");
  spdlog::info("eui64: {} IEEE assignments from {} file(s)", db_.size(), files.size());
}

void Eui64Pipeline::add(const BinRecord& rec) {
  if (rec.eui.size() == 0) return;
  const uint64_t h = rec.start_ns / kHourNs * kHourNs;
  const uint64_t d = rec.start_ns / kDayNs * kDayNs;
  if (h + kHourNs <= closed_hours_until_ || d + kDayNs <= closed_days_until_) {
    ++late_bins_;
    return;
  }
  Window& wh = hours_[h];
  Window& wd = days_[d];
  rec.eui.for_each([&](const EuiEntry& e) {
    for (Window* w : {&wh, &wd}) {
      auto& macs = w->prefixes[e.prefix];
      if (e.mac != 0) macs.insert(e.mac);
    }
  });
}

std::string Eui64Pipeline::manufacturer(uint64_t mac, bool& iot_only) const {
  const oui::Assignment* a = db_.lookup(mac);
  iot_only = false;
  if (a == nullptr) return "unknown";
  const std::string org = lower(a->organization);
  for (const auto& m : cfg_.eui64.iot_manufacturers) iot_only |= org.find(lower(m)) != std::string::npos;
  return a->organization;
}

void Eui64Pipeline::close(bool daily, uint64_t start, const Window& w) {
  using ojson = nlohmann::ordered_json;
  struct Maker {
    std::set<uint64_t> macs, prefixes;
    bool iot_only = false;
  };
  std::map<std::string, Maker> makers;
  ojson prefixes = ojson::array();
  uint64_t exposed = 0;
  for (const auto& [p, macs] : w.prefixes) {
    if (macs.empty()) continue;
    ++exposed;
    ojson list = ojson::array();
    for (uint64_t m : macs) {
      bool iot = false;
      std::string name = manufacturer(m, iot);
      Maker& mk = makers[name];
      mk.macs.insert(m);
      mk.prefixes.insert(p);
      mk.iot_only = iot;
      list.push_back({{"mac", ids_.mac_id(m)}, {"manufacturer", name}});
    }
    prefixes.push_back({{"prefix", ids_.id(prefix_addr(p), 56)}, {"macs", std::move(list)}});
  }
  std::vector<std::pair<std::string, const Maker*>> order;
  for (const auto& [n, m] : makers) order.emplace_back(n, &m);
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->prefixes.size() > b.second->prefixes.size();
  });
  ojson mj = ojson::array();
  for (const auto& [n, m] : order) {
    mj.push_back({{"manufacturer", n},
                  {"prefixes", m->prefixes.size()},
                  {"macs", m->macs.size()},
                  {"iot_only", m->iot_only}});
  }
  const uint64_t seen = w.prefixes.size();
  ojson j;
  j["window"] = daily ? "day" : "hour";
  j["window_start"] = format_time_ns(start);
  j["prefixes_seen"] = seen;
  j["prefixes_exposed"] = exposed;
  j["exposed_share"] = seen ? std::round(1e4 * double(exposed) / double(seen)) / 1e4 : 0.0;
  j["manufacturers"] = std::move(mj);
  j["prefixes"] = std::move(prefixes);
  out_ << j.dump() << "\n";
  out_.flush();
  ++windows_closed_;
  for (const auto& sink : report_sinks_) sink(j);
  (daily ? last_day_ : last_hour_) = std::move(j);
}

void Eui64Pipeline::advance(uint64_t now_ns) {
  while (!hours_.empty() && hours_.begin()->first + kHourNs <= now_ns) {
    close(false, hours_.begin()->first, hours_.begin()->second);
    closed_hours_until_ = hours_.begin()->first + kHourNs;
    hours_.erase(hours_.begin());
  }
  while (!days_.empty() && days_.begin()->first + kDayNs <= now_ns) {
    close(true, days_.begin()->first, days_.begin()->second);
    closed_days_until_ = days_.begin()->first + kDayNs;
    days_.erase(days_.begin());
  }
}

void Eui64Pipeline::finish() { advance(~uint64_t{0}); }

nlohmann::ordered_json Eui64Pipeline::summary() const {
  nlohmann::ordered_json j;
  j["registry_assignments"] = db_.size();
  j["windows_closed"] = windows_closed_;
  j["late_bins"] = late_bins_;
  const auto& d = last_day_;
  j["last_day"] = d.is_null() ? nlohmann::ordered_json::object()
                              : nlohmann::ordered_json{{"window_start", d["window_start"]},
                                                       {"prefixes_seen", d["prefixes_seen"]},
                                                       {"prefixes_exposed", d["prefixes_exposed"]},
                                                       {"manufacturers", d["manufacturers"]}};
  return j;
}

}  // namespace haystack
