#include "control/stats_json.h"

#include "control/alert_sink.h"

namespace haystack {

WorkerSnapshot WorkerSnapshot::from(uint32_t id, unsigned lcore, const WorkerCounters& c) {
  WorkerSnapshot w;
  w.worker_id = id;
  w.lcore = lcore;
  c.for_each([&](std::string_view name, std::string_view, uint64_t v) {
    w.counters.emplace_back(std::string(name), v);
  });
  for (size_t i = 1; i < kParseErrorCount; ++i) {
    w.parse_errors.emplace_back(std::string(parse_error_name(static_cast<ParseError>(i))),
                                c.parse_error[i].get());
  }
  for (size_t i = 1; i < kDnsErrorCount; ++i)
    w.learning_errors.emplace_back("dns_" + std::string(dns_error_name(static_cast<DnsError>(i))),
                                   c.learning_dns_error[i].get());
  for (size_t i = 1; i < kSniErrorCount; ++i)
    w.learning_errors.emplace_back("sni_" + std::string(sni_error_name(static_cast<SniError>(i))),
                                   c.learning_sni_error[i].get());
  return w;
}

void BinTotals::add(const BinRecord& r) {
  if (records == 0 || r.start_ns < start_ns) start_ns = r.start_ns;
  if (r.end_ns > end_ns) end_ns = r.end_ns;
  ++records;
  packets += r.packets;
  bytes += r.bytes;
  ip_packets += r.ip_packets;
  sampled_flow += r.sampled_flow;
  sampled_iot += r.sampled_iot;
  parse_errors += r.parse_errors;
  new_flows += r.new_flows;
}

namespace {
using ojson = nlohmann::ordered_json;

ojson pairs(const std::vector<std::pair<std::string, uint64_t>>& v) {
  ojson o = ojson::object();
  for (const auto& [k, n] : v) o[k] = n;
  return o;
}
}  // namespace

ojson stats_to_json(const StatsSnapshot& s) {
  const Config& c = *s.config;
  ojson doc;
  doc["haystack_version"] = s.version;
  doc["site_id"] = c.site_id;
  doc["mode"] = std::string(mode_name(c.mode));
  doc["clock"] = std::string(clock_name(s.clock));
  doc["bin_seconds"] = c.bin_seconds;
  doc["sampling"] = {{"method", std::string(sample_method_name(c.sampling.method))},
                     {"flow_rate", c.sampling.flow_rate},
                     {"iot_rate", c.sampling.iot_rate},
                     {"hash_seed", c.sampling.hash_seed}};

  // Totals: every worker counter summed, parse errors by reason.
  std::vector<std::pair<std::string, uint64_t>> totals, reasons, learning;
  for (const auto& w : s.workers) {
    if (totals.empty()) {
      totals = w.counters;
      reasons = w.parse_errors;
      learning = w.learning_errors;
      continue;
    }
    for (size_t i = 0; i < totals.size(); ++i) totals[i].second += w.counters[i].second;
    for (size_t i = 0; i < reasons.size(); ++i) reasons[i].second += w.parse_errors[i].second;
    for (size_t i = 0; i < learning.size(); ++i) learning[i].second += w.learning_errors[i].second;
  }
  ojson t = pairs(totals);
  t["parse_errors_by_reason"] = pairs(reasons);
  t["learning_by_reason"] = pairs(learning);
  doc["totals"] = t;

  ojson ports = ojson::array();
  for (const auto& p : s.ports) {
    ojson j;
    j["name"] = p.info.name;
    j["device"] = p.device;
    j["driver"] = p.info.driver;
    j["port_id"] = p.info.port_id;
    j["rx_queues"] = p.info.rx_queues;
    j["rss"] = {{"enabled", p.info.rss},
                {"hash_functions", p.info.rss_hf},
                {"key", p.info.rss_key_hex},
                {"reta_size", p.info.reta_size},
                {"reta_verified", p.info.reta_verified}};
    j["rx_timestamps"] = p.info.rx_timestamps;
    j["note"] = p.info.note;
    j["ipackets"] = p.stats.ipackets;
    j["ibytes"] = p.stats.ibytes;
    j["imissed"] = p.stats.imissed;
    j["ierrors"] = p.stats.ierrors;
    j["rx_nombuf"] = p.stats.rx_nombuf;
    if (p.stats.xdp) {
      // Every packet the XDP sampler saw, from the kernel: sampled ones went to haystackd
      // (ipackets + imissed), the rest were counted and passed or dropped there.
      const XdpCounts& x = p.stats.xdp_counts;
      ojson per_cpu = ojson::array();
      for (const auto& c : x.per_cpu) {
        per_cpu.push_back({{"sampled", c.sampled},
                           {"unsampled", c.unsampled},
                           {"no_socket", c.no_socket}});
      }
      j["xdp"] = {{"sampled", x.sampled},
                  {"unsampled", x.unsampled},
                  {"no_socket", x.no_socket},
                  {"total", x.seen()},
                  {"per_cpu", std::move(per_cpu)}};
    }
    ports.push_back(std::move(j));
  }
  doc["ports"] = std::move(ports);

  ojson workers = ojson::array();
  for (const auto& w : s.workers) {
    ojson j;
    j["worker"] = w.worker_id;
    j["lcore"] = w.lcore;
    ojson qs = ojson::array();
    for (const auto& [port, q] : w.queues) qs.push_back({{"port", port}, {"queue", q}});
    j["queues"] = std::move(qs);
    j["counters"] = pairs(w.counters);
    j["counters"]["parse_errors_by_reason"] = pairs(w.parse_errors);
    j["counters"]["learning_by_reason"] = pairs(w.learning_errors);
    workers.push_back(std::move(j));
  }
  doc["workers"] = std::move(workers);

  ojson bins = ojson::array();
  for (const auto& [start, b] : s.bins) {
    bins.push_back({{"start", format_time_ns(b.start_ns)},
                    {"start_ns", b.start_ns},
                    {"end_ns", b.end_ns},
                    {"worker_records", b.records},
                    {"packets", b.packets},
                    {"bytes", b.bytes},
                    {"ip_packets", b.ip_packets},
                    {"sampled_flow", b.sampled_flow},
                    {"sampled_iot", b.sampled_iot},
                    {"parse_errors", b.parse_errors},
                    {"new_flows", b.new_flows}});
  }
  doc["bins"] = std::move(bins);
  ojson fsets = ojson::array();
  for (auto fs : c.flowtree.feature_sets) fsets.push_back(std::string(flowtree::feature_set_name(fs)));
  doc["flowtrees"] = {{"feature_sets", fsets},
                      {"node_budget", c.flowtree.node_budget},
                      {"port_node_budget", c.flowtree.port_node_budget},
                      {"insert_probability", c.flowtree.insert_probability},
                      {"protocol_key", c.flowtree.protocol_key},
                      {"rollup_seconds", c.flowtree.rollup_seconds},
                      {"bins_completed", s.flow.bins_completed},
                      {"rollups_completed", s.flow.rollups_completed},
                      {"late_records", s.flow.late_records},
                      {"forced_completions", s.flow.forced_completions},
                      {"trees_written", s.store.trees_written},
                      {"tree_bytes_written", s.store.bytes_written},
                      {"tree_write_errors", s.store.write_errors}};
  if (!s.store_backend.empty()) {
    const store::StoreCounters& d = s.store_db;
    doc["store"] = {{"backend", s.store_backend},          {"trees_written", d.trees_written},
                    {"rows_written", d.rows_written},      {"bytes_written", d.bytes_written},
                    {"write_errors", d.write_errors},      {"retries", d.retries},
                    {"dropped_rows", d.dropped_rows},
                    {"dropped_queue_full", d.dropped_queue_full},
                    {"dropped_unwritten", d.dropped_unwritten}, {"queued_rows", d.queued_rows},
                    {"rollups_written", d.rollups_written}, {"retention_deleted", d.retention_deleted}};
  }
  if (!s.iot.is_null()) doc["iot"] = s.iot;
  if (!s.eui64.is_null()) doc["eui64"] = s.eui64;
  if (!s.ipfix.is_null()) doc["ipfix"] = s.ipfix;
  if (!s.learning.is_null()) doc["learning"] = s.learning;
  doc["control"] = {{"bins_received", s.control.bins_received},
                    {"bins_evicted", s.control.bins_evicted},
                    {"alerts_emitted", s.control.alerts_emitted},
                    {"alert_write_errors", s.control.alert_write_errors}};
  const ControlSocketCounters& k = s.control.socket;
  doc["control"]["socket"] = {{"requests", k.requests},
                              {"errors", k.errors},
                              {"clients_accepted", k.clients_accepted},
                              {"clients_rejected", k.clients_rejected},
                              {"clients", k.clients},
                              {"subscribers", k.subscribers},
                              {"subscribers_dropped", k.subscribers_dropped},
                              {"lines_too_long", k.lines_too_long}};
  return doc;
}

}  // namespace haystack
