#include "control/control_commands.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>

#include "control/alert_sink.h"
#include "control/config_json.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "dataplane/flowtree/flowtree_queries.h"

namespace haystack {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

void RecentAlerts::add(uint64_t time_ns, std::string line) {
  if (entries_.size() == capacity_) {
    entries_.pop_front();
    ++evicted_;
  }
  entries_.push_back({time_ns, std::move(line)});
}

namespace {

[[noreturn]] void bad_args(const std::string& msg) {
  throw CommandError("bad_args", msg);
}

// One command's arguments: unknown names are rejected, each getter checks its type.
class Args {
 public:
  Args(const std::string& cmd, const json& a, std::initializer_list<std::string_view> allowed)
      : a_(a) {
    for (const auto& [k, v] : a.items()) {
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string list;
      for (auto n : allowed) list += (list.empty() ? "" : ", ") + std::string(n);
      bad_args("unknown argument '" + k + "' for " + cmd +
               (list.empty() ? " (it takes none)" : "; expected " + list));
    }
  }
  const json* get(const char* name) const {
    auto it = a_.find(name);
    return it == a_.end() || it->is_null() ? nullptr : &*it;
  }
  std::optional<std::string> str(const char* name) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_string()) bad_args(std::string(name) + ": expected a string, got " + v->dump());
    return v->get<std::string>();
  }
  std::optional<uint64_t> uint(const char* name, uint64_t lo, uint64_t hi) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number_unsigned() || v->get<uint64_t>() < lo || v->get<uint64_t>() > hi) {
      bad_args(std::string(name) + ": expected an integer in " + std::to_string(lo) + ".." +
               std::to_string(hi) + ", got " + v->dump());
    }
    return v->get<uint64_t>();
  }
  std::optional<double> num(const char* name, double lo, double hi) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    if (!v->is_number() || !(v->get<double>() > lo) || v->get<double>() > hi) {
      bad_args(std::string(name) + ": expected a number in (" + json(lo).dump() + ", " +
               json(hi).dump() + "], got " + v->dump());
    }
    return v->get<double>();
  }
  bool flag(const char* name) const {
    const json* v = get(name);
    if (!v) return false;
    if (!v->is_boolean())
      bad_args(std::string(name) + ": expected true or false, got " + v->dump());
    return v->get<bool>();
  }
  std::optional<uint64_t> time(const char* name) const {
    const json* v = get(name);
    if (!v) return std::nullopt;
    auto t = ControlCommands::parse_time(*v);
    if (!t) {
      bad_args(std::string(name) +
               ": expected a time such as 2026-11-01T10:00:00Z, 2026-11-01 "
               "or integer nanoseconds, got " +
               v->dump());
    }
    return t;
  }

 private:
  const json& a_;
};

ojson counters_json(const flowtree::Counters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"flows", c.flows}};
}


uint64_t counter(const WorkerSnapshot& w, std::string_view name) {
  for (const auto& [k, v] : w.counters) {
    if (k == name) return v;
  }
  return 0;
}

}  // namespace

std::optional<uint64_t> ControlCommands::parse_time(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  std::tm tm{};
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
  uint64_t frac_ns = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) return std::nullopt;
  size_t pos = size_t(n);
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    int m = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d%n", &h, &mi, &m) != 2) return std::nullopt;
    pos += 1 + size_t(m);
    if (pos < s.size() && s[pos] == ':') {
      if (std::sscanf(s.c_str() + pos + 1, "%2d%n", &sec, &m) != 1) return std::nullopt;
      pos += 1 + size_t(m);
      if (pos < s.size() && s[pos] == '.') {
        uint64_t scale = 100'000'000;
        for (++pos; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos) {
          frac_ns += uint64_t(s[pos] - '0') * scale;
          scale /= 10;
        }
      }
    }
    if (pos < s.size() && s[pos] == 'Z') ++pos;
  }
  if (pos != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
      y < 1970) {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return uint64_t(timegm(&tm)) * 1'000'000'000ULL + frac_ns;
}

const std::vector<std::string>& ControlCommands::names() {
  static const std::vector<std::string> n{
      "status", "stats", "hitlist.show", "detections", "services", "alerts",     "eui64",
      "query",  "top",   "hhh",          "above",      "hc",       "config.show"};
  return n;
}

ControlReply ControlCommands::operator()(const ControlRequest& r) const {
  const std::string& c = r.cmd;
  const json& a = r.args;
  if (c == "status" || c == "hitlist.show" || c == "config.show") Args(c, a, {});  // none
  if (c == "status") return {status()};
  if (c == "stats") return {stats(a)};
  if (c == "hitlist.show") return {hitlist_show()};
  if (c == "hitlist.reload") return {hitlist_reload(a)};
  if (c == "detections") return {detections(a)};
  if (c == "services") return {services(a)};
  if (c == "alerts") return alerts(a);
  if (c == "config.show") return {config_to_json(*ctx_.config)};
  if (c == "top" || c == "hhh" || c == "above" || c == "hc") return {tree_query(c, a)};
  if (c == "eui64") return {eui64(a)};
  if (c == "query") return {query(a)};
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  throw CommandError("unknown_command", "unknown command '" + c + "'; commands: " + list);
}

const IotPipeline& ControlCommands::iot() const {
  if (!ctx_.iot) {
    throw CommandError("not_configured",
                       "IoT detection is off: the configuration sets no iot.hitlist");
  }
  return *ctx_.iot;
}

ojson ControlCommands::status() const {
  const Config& cfg = *ctx_.config;
  const StatsSnapshot s = ctx_.snapshot();
  ojson j;
  j["version"] = ctx_.version;
  j["site_id"] = cfg.site_id;
  j["mode"] = std::string(mode_name(cfg.mode));
  j["clock"] = std::string(clock_name(s.clock));
  j["started"] = format_time_ns(ctx_.started_wall_ns);
  j["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - ctx_.started)
                      .count();
  j["input_idle"] = ctx_.input_idle();
  ojson ports = ojson::array();
  for (const auto& p : s.ports) {
    ports.push_back({{"name", p.info.name},
                     {"driver", p.info.driver},
                     {"rx_queues", p.info.rx_queues},
                     {"ipackets", p.stats.ipackets},
                     {"imissed", p.stats.imissed},
                     {"ierrors", p.stats.ierrors},
                     {"rx_nombuf", p.stats.rx_nombuf}});
  }
  j["ports"] = ports;
  ojson workers = ojson::array();
  for (const auto& w : s.workers) {
    ojson qs = ojson::array();
    for (const auto& [port, q] : w.queues) qs.push_back(port + "/" + std::to_string(q));
    workers.push_back({{"worker", w.worker_id},
                       {"lcore", w.lcore},
                       {"queues", qs},
                       {"rx_packets", counter(w, "rx_packets")}});
  }
  j["workers"] = workers;
  if (ctx_.iot) {
    const hitlist::Generation& g = *ctx_.iot->current();
    j["hitlist"] = {{"path", g.path},
                    {"generation", g.number},
                    {"valid_from", g.bundle->valid_from},
                    {"valid_until", g.bundle->valid_until}};
  } else {
    j["hitlist"] = nullptr;
  }
  ojson bins;
  bins["seconds"] = cfg.bin_seconds;
  bins["in_memory"] = s.bins.size();
  bins["first"] = s.bins.empty() ? "" : format_time_ns(s.bins.begin()->first);
  bins["last"] = s.bins.empty() ? "" : format_time_ns(s.bins.rbegin()->first);
  bins["received"] = s.control.bins_received;
  bins["completed"] = s.flow.bins_completed;
  bins["rollup_seconds"] = cfg.flowtree.rollup_seconds;
  j["bins"] = bins;
  return j;
}

ojson ControlCommands::stats(const json& args) const {
  Args a("stats", args, {"per_core", "bins"});
  ojson doc = stats_to_json(ctx_.snapshot());
  if (!a.flag("per_core")) doc.erase("workers");
  if (!a.flag("bins")) doc.erase("bins");
  return doc;
}

ojson ControlCommands::hitlist_show() const {
  const hitlist::Generation& g = *iot().current();
  const hitlist::Bundle& b = *g.bundle;
  return {{"path", g.path},
          {"generation", g.number},
          {"valid_from", b.valid_from},
          {"valid_until", b.valid_until},
          {"provenance", b.provenance},
          {"services", b.services.size()},
          {"domains", b.domains.size()},
          {"endpoints", b.endpoints.size()}};
}

ojson ControlCommands::hitlist_reload(const json& args) const {
  Args a("hitlist.reload", args, {"path"});
  iot();
  // Without a path: iot.hitlist again, as SIGHUP does.
  const std::string path = a.str("path").value_or(ctx_.config->iot.hitlist);
  if (path.empty()) bad_args("path: expected a hitlist bundle file, got \"\"");
  const HitlistReloadOutcome r = ctx_.hitlist_reload(path);
  if (!r.ok) {
    throw CommandError("reload_failed",
                       r.error + " (generation " + std::to_string(r.generation) + " stays active)");
  }
  return hitlist_show();
}

ojson ControlCommands::detections(const json& args) const {
  Args a("detections", args, {"service", "level", "window", "since", "limit"});
  const auto service = a.str("service");
  const auto level = a.str("level");
  const auto window = a.str("window");
  if (level && *level != "platform" && *level != "manufacturer" && *level != "product")
    bad_args("level: expected platform, manufacturer or product, got '" + *level + "'");
  if (window && *window != "hour" && *window != "day")
    bad_args("window: expected hour or day, got '" + *window + "'");
  const uint64_t since = a.time("since").value_or(0);
  const uint64_t limit = a.uint("limit", 1, 1'000'000).value_or(1000);
  const IotPipeline& p = iot();
  ojson rows = ojson::array();
  uint64_t matched = 0;
  for (const auto& r : p.recent_detections()) {
    if (service && r.d.service_key != *service) continue;
    if (level && hitlist::level_name(r.d.level) != *level) continue;
    if (window && detection::window_kind_name(r.kind) != *window) continue;
    if (r.window_start_ns < since) continue;
    if (++matched <= limit) rows.push_back(IotPipeline::detection_json(r));
  }
  return {{"matched", matched},
          {"returned", rows.size()},
          {"evicted", p.detections_evicted()},
          {"detections", rows}};
}

ojson ControlCommands::services(const json& args) const {
  Args a("services", args, {"window", "since"});
  const auto window = a.str("window");
  if (window && *window != "hour" && *window != "day")
    bad_args("window: expected hour or day, got '" + *window + "'");
  const uint64_t since = a.time("since").value_or(0);
  ojson out = ojson::array();
  for (const auto& w : iot().recent_windows()) {
    if (window && detection::window_kind_name(w.kind) != *window) continue;
    if (w.start_ns < since) continue;
    ojson svcs = ojson::array();
    for (const auto& c : w.services) {
      svcs.push_back({{"service", c.service_key},
                      {"level", std::string(hitlist::level_name(c.level))},
                      {"lines", c.lines},
                      {"active_lines", c.active_lines}});
    }
    out.push_back({{"window", std::string(detection::window_kind_name(w.kind))},
                   {"window_start", format_time_ns(w.start_ns)},
                   {"services", svcs}});
  }
  return {{"windows", out}};
}

ControlReply ControlCommands::alerts(const json& args) const {
  Args a("alerts", args, {"since", "limit", "follow"});
  const uint64_t since = a.time("since").value_or(0);
  const uint64_t limit = a.uint("limit", 1, 1'000'000).value_or(1000);
  ControlReply rep;
  rep.follow = a.flag("follow");
  // The newest `limit` matching alerts, oldest first.
  std::vector<const RecentAlerts::Entry*> hits;
  for (const auto& e : ctx_.alerts->entries()) {
    if (e.time_ns >= since) hits.push_back(&e);
  }
  const size_t skip = hits.size() > limit ? hits.size() - limit : 0;
  ojson list = ojson::array();
  for (size_t i = skip; i < hits.size(); ++i) list.push_back(ojson::parse(hits[i]->line));
  rep.result = {{"alerts", list}, {"evicted", ctx_.alerts->evicted()}, {"following", rep.follow}};
  return rep;
}

ojson ControlCommands::eui64(const json& args) const {
  Args a("eui64", args, {"window"});
  const auto window = a.str("window");
  if (window && *window != "hour" && *window != "day")
    bad_args("window: expected hour or day, got '" + *window + "'");
  if (!ctx_.eui64) {
    throw CommandError("not_configured", "EUI-64 tracking is off: eui64.enabled is false");
  }
  // The last closed report of each window kind, as in eui64.jsonl; null before one closed.
  ojson out;
  for (const char* kind : {"hour", "day"}) {
    if (window && *window != kind) continue;
    const ojson& r = ctx_.eui64->last_report(std::string_view(kind) == "day");
    out[kind] = r.is_null() ? ojson(nullptr) : r;
  }
  return out;
}

ojson ControlCommands::query(const json& args) const {
  Args a("query", args, {"flowql", "text"});
  const auto q = a.str("flowql");
  if (!q || q->empty()) bad_args("flowql is required: a FlowQL query (docs/flowql.md)");
  if (!ctx_.flowql) throw CommandError("unsupported", "not available: FlowQL is not linked in");
  return ctx_.flowql(*q, a.flag("text"));
}

ojson ControlCommands::tree_query(const std::string& cmd, const json& args) const {
  // One Args per command: an initializer_list chosen by ?: would dangle (its array is a
  // temporary of the full expression).
  static const std::initializer_list<std::string_view> kTop{
      "feature_set", "granularity", "bin", "metric", "k", "depth"};
  static const std::initializer_list<std::string_view> kHhh{
      "feature_set", "granularity", "bin", "metric", "phi"};
  static const std::initializer_list<std::string_view> kAbove{
      "feature_set", "granularity", "bin", "metric", "threshold"};
  static const std::initializer_list<std::string_view> kHc{
      "feature_set", "granularity", "bin", "metric", "k", "before"};
  const auto& allowed = cmd == "top" ? kTop : cmd == "hhh" ? kHhh : cmd == "above" ? kAbove : kHc;
  Args a(cmd, args, allowed);
  const Config& cfg = *ctx_.config;
  if (!ctx_.trees) {
    throw CommandError("not_configured",
                       "no store and flowtree.persist is off: no stored site trees to query");
  }
  const auto fs_name = a.str("feature_set");
  if (!fs_name) bad_args("feature_set is required (one of the configured flowtree.feature_sets)");
  const auto fs = flowtree::parse_feature_set(*fs_name);
  if (!fs || std::find(cfg.flowtree.feature_sets.begin(), cfg.flowtree.feature_sets.end(), *fs) ==
                 cfg.flowtree.feature_sets.end()) {
    std::string list;
    for (auto f : cfg.flowtree.feature_sets)
      list += (list.empty() ? "" : ", ") + std::string(flowtree::feature_set_name(f));
    bad_args("feature_set: '" + *fs_name + "' is not a configured feature set (" + list + ")");
  }
  const std::string fsn(flowtree::feature_set_name(*fs));

  std::vector<uint32_t> grans = ctx_.trees->granularities(cfg.site_id);
  if (std::find(grans.begin(), grans.end(), cfg.bin_seconds) == grans.end()) {
    grans.push_back(cfg.bin_seconds);
  }
  std::sort(grans.begin(), grans.end());
  uint32_t seconds = cfg.bin_seconds;
  if (const auto g = a.str("granularity")) {
    std::string list;
    bool found = false;
    for (uint32_t s : grans) {
      list += (list.empty() ? "" : ", ") + TreeStore::granularity_label(s);
      if (TreeStore::granularity_label(s) == *g) seconds = s, found = true;
    }
    if (!found) bad_args("granularity: '" + *g + "' is not stored; expected one of " + list);
  }
  const std::string gran = TreeStore::granularity_label(seconds);
  std::vector<uint64_t> periods;
  for (int64_t p : ctx_.trees->bins(cfg.site_id, seconds, *fs, 0, INT64_MAX)) {
    periods.push_back(uint64_t(p) * 1'000'000'000ULL);
  }
  // A time picks the stored period containing it; no time: the latest.
  auto pick = [&](const char* name, std::optional<uint64_t> t) -> uint64_t {
    if (periods.empty()) {
      throw CommandError("not_found", "no stored " + gran + " " + fsn + " trees yet");
    }
    if (!t) return periods.back();
    for (uint64_t p : periods) {
      if (p <= *t && *t < p + uint64_t(seconds) * 1'000'000'000ULL) return p;
    }
    throw CommandError("not_found", std::string(name) + ": no stored " + gran + " " + fsn +
                                        " tree covers " + format_time_ns(*t) +
                                        " (stored: " + format_time_ns(periods.front()) + " .. " +
                                        format_time_ns(periods.back()) + ")");
  };
  const uint64_t bin = pick("bin", a.time("bin"));
  flowtree::Metric m = flowtree::Metric::kPackets;
  if (const auto ms = a.str("metric")) {
    if (*ms == "bytes") {
      m = flowtree::Metric::kBytes;
    } else if (*ms == "flows") {
      m = flowtree::Metric::kFlows;
    } else if (*ms != "packets") {
      bad_args("metric: expected packets, bytes or flows, got '" + *ms + "'");
    }
  }
  auto load = [&](uint64_t start_ns) {
    try {
      return ctx_.trees->load(cfg.site_id, seconds, int64_t(start_ns / 1'000'000'000ULL), *fs);
    } catch (const std::exception& e) {
      throw CommandError("internal", e.what());
    }
  };
  const flowtree::Flowtree t = load(bin);
  ojson out;
  out["feature_set"] = fsn;
  out["granularity"] = gran;
  out["bin"] = format_time_ns(bin);
  out["metric"] = std::string(a.str("metric").value_or("packets"));
  std::vector<flowtree::Ranked> rows;
  const size_t k = size_t(a.uint("k", 1, 100000).value_or(10));
  if (cmd == "top") {
    std::optional<int> depth;
    if (auto d = a.uint("depth", 0, 255)) depth = int(*d);
    rows = flowtree::top_k(t, k, m, depth);
  } else if (cmd == "hhh") {
    const auto phi = a.num("phi", 0.0, 1.0);
    if (!phi) bad_args("phi is required: a fraction of the total in (0, 1]");
    rows = flowtree::hhh(t, *phi, m);
  } else if (cmd == "above") {
    const auto th = a.uint("threshold", 0, uint64_t(INT64_MAX));
    if (!th) bad_args("threshold is required: a count (integer >= 0)");
    rows = flowtree::above_t(t, int64_t(*th), m);
  } else {
    std::optional<uint64_t> before = a.time("before");
    uint64_t b;
    if (before) {
      b = pick("before", before);
    } else {
      auto it = std::lower_bound(periods.begin(), periods.end(), bin);
      if (it == periods.begin()) {
        throw CommandError("not_found", "no stored " + gran + " " + fsn + " tree before " +
                                            format_time_ns(bin) + " to compare with");
      }
      b = *std::prev(it);
    }
    const flowtree::Flowtree tb = load(b);
    out["before"] = format_time_ns(b);
    rows = flowtree::heavy_changers(tb, t, k, m);
  }
  out["total"] = counters_json(t.total());
  ojson list = ojson::array();
  for (const auto& r : rows) {
    list.push_back({{"key", t.hierarchy().to_string(r.key)}, {"value", counters_json(r.value)}});
  }
  out["rows"] = list;
  return out;
}

}  // namespace haystack
