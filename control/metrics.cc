#include "control/metrics.h"

#include <map>
#include <string>

namespace haystack {

namespace {

using prom::Family;
using prom::Sample;
using prom::Type;
using Labels = std::vector<std::pair<std::string, std::string>>;

Family family(std::string name, std::string help, Type type = Type::kCounter) {
  Family f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

Family single(std::string name, std::string help, double v, Type type = Type::kCounter) {
  Family f = family(std::move(name), std::move(help), type);
  f.samples.push_back(Sample{{}, v});
  return f;
}

uint64_t u(const nlohmann::ordered_json& j, const char* a, const char* b) {
  if (!j.is_object() || !j.contains(a) || !j[a].contains(b) || !j[a][b].is_number()) return 0;
  return j[a][b].get<uint64_t>();
}

}  // namespace

std::vector<Family> metrics_from(const StatsSnapshot& s, const prom::ExporterCounters& http) {
  std::vector<Family> out;
  const Config& c = *s.config;
  Family info = family("haystack_build_info", "haystackd version, site and mode (value 1)", Type::kGauge);
  info.samples.push_back(Sample{{{"version", s.version}, {"site", c.site_id},
                                 {"mode", std::string(mode_name(c.mode))}},
                                1});
  out.push_back(std::move(info));

  // Worker counters: one family per counter of the X-macro list, a sample per worker.
  std::map<std::string, std::string> help;
  WorkerCounters{}.for_each([&](std::string_view n, std::string_view h, uint64_t) {
    help[std::string(n)] = std::string(h);
  });
  if (!s.workers.empty()) {
    for (size_t i = 0; i < s.workers.front().counters.size(); ++i) {
      const std::string& name = s.workers.front().counters[i].first;
      Family f = family("haystack_worker_" + name + "_total", help[name]);
      for (const auto& w : s.workers) {
        f.samples.push_back(Sample{{{"worker", std::to_string(w.worker_id)},
                                    {"lcore", std::to_string(w.lcore)}},
                                   double(w.counters[i].second)});
      }
      out.push_back(std::move(f));
    }
    Family pe = family("haystack_worker_parse_errors_by_reason_total",
                       "frames rejected by the parser, by reason");
    for (const auto& w : s.workers)
      for (const auto& [reason, v] : w.parse_errors)
        pe.samples.push_back(Sample{{{"worker", std::to_string(w.worker_id)}, {"reason", reason}},
                                    double(v)});
    out.push_back(std::move(pe));
    Family le = family("haystack_worker_learning_by_reason_total",
                       "DNS/TLS messages not learned from, by parser and reason");
    for (const auto& w : s.workers)
      for (const auto& [reason, v] : w.learning_errors) {
        const size_t us = reason.find('_');
        le.samples.push_back(Sample{{{"worker", std::to_string(w.worker_id)},
                                     {"parser", reason.substr(0, us)},
                                     {"reason", reason.substr(us + 1)}},
                                    double(v)});
      }
    out.push_back(std::move(le));
    Family q = family("haystack_worker_queue_info", "RX queues polled by each worker (value 1)",
                      Type::kGauge);
    for (const auto& w : s.workers)
      for (const auto& [port, queue] : w.queues)
        q.samples.push_back(Sample{{{"worker", std::to_string(w.worker_id)},
                                    {"port", port},
                                    {"queue", std::to_string(queue)}},
                                   1});
    out.push_back(std::move(q));
  }

  // NIC counters per port and per queue.
  struct PortMetric {
    const char* name;
    const char* help;
    uint64_t PortStats::*field;
  };
  const PortMetric pm[] = {
      {"haystack_port_rx_packets_total", "packets received by the NIC (ipackets)", &PortStats::ipackets},
      {"haystack_port_rx_bytes_total", "bytes received by the NIC (ibytes)", &PortStats::ibytes},
      {"haystack_port_rx_missed_total", "packets dropped by the NIC: no free RX descriptor (imissed)", &PortStats::imissed},
      {"haystack_port_rx_errors_total", "erroneous frames received (ierrors)", &PortStats::ierrors},
      {"haystack_port_rx_nombuf_total", "RX mbuf allocation failures (rx_nombuf)", &PortStats::rx_nombuf},
  };
  for (const auto& m : pm) {
    Family f = family(m.name, m.help);
    for (const auto& p : s.ports) f.samples.push_back(Sample{{{"port", p.info.name}}, double(p.stats.*m.field)});
    out.push_back(std::move(f));
  }
  // XDP sampler counts from the kernel, for ports that have one (AF_XDP mode).
  struct XdpMetric {
    const char* name;
    const char* help;
    uint64_t XdpCounts::*field;
  };
  const XdpMetric xm[] = {
      {"haystack_port_xdp_sampled_total", "packets the XDP sampler redirected to haystackd",
       &XdpCounts::sampled},
      {"haystack_port_xdp_unsampled_total",
       "packets the XDP sampler kept back (counted in the kernel, not processed)",
       &XdpCounts::unsampled},
      {"haystack_port_xdp_no_socket_total",
       "sampled packets on an RX queue without an AF_XDP socket (handled as unsampled)",
       &XdpCounts::no_socket},
  };
  for (const auto& m : xm) {
    Family f = family(m.name, m.help);
    for (const auto& p : s.ports) {
      if (p.stats.xdp)
        f.samples.push_back(Sample{{{"port", p.info.name}}, double(p.stats.xdp_counts.*m.field)});
    }
    if (!f.samples.empty()) out.push_back(std::move(f));
  }
  Family qp = family("haystack_port_queue_rx_packets_total", "packets received per RX queue");
  Family qb = family("haystack_port_queue_rx_bytes_total", "bytes received per RX queue");
  for (const auto& p : s.ports) {
    for (size_t q = 0; q < p.stats.q_ipackets.size(); ++q) {
      Labels l{{"port", p.info.name}, {"queue", std::to_string(q)}};
      qp.samples.push_back(Sample{l, double(p.stats.q_ipackets[q])});
      qb.samples.push_back(Sample{l, double(p.stats.q_ibytes[q])});
    }
  }
  out.push_back(std::move(qp));
  out.push_back(std::move(qb));

  // Control.
  out.push_back(single("haystack_bins_received_total", "worker bin records merged by control",
                       double(s.control.bins_received)));
  out.push_back(single("haystack_bins_evicted_total",
                       "closed bins dropped from the in-memory window (beyond one week)",
                       double(s.control.bins_evicted)));
  out.push_back(single("haystack_alerts_emitted_total", "alerts written", double(s.control.alerts_emitted)));
  out.push_back(single("haystack_alert_write_errors_total", "alerts that could not be written",
                       double(s.control.alert_write_errors)));
  out.push_back(single("haystack_alert_log_lines_suppressed_total",
                       "alert log lines left out by log.repeat_limit (the alert file has them)",
                       double(s.control.alert_log_suppressed)));
  const ControlSocketCounters& k = s.control.socket;
  out.push_back(single("haystack_control_requests_total", "control socket request lines received",
                       double(k.requests)));
  out.push_back(single("haystack_control_errors_total", "control socket error responses",
                       double(k.errors)));
  out.push_back(single("haystack_control_clients_accepted_total", "control socket clients accepted",
                       double(k.clients_accepted)));
  out.push_back(single("haystack_control_clients_rejected_total",
                       "control socket clients refused over control.max_clients",
                       double(k.clients_rejected)));
  out.push_back(single("haystack_control_clients", "control socket clients connected",
                       double(k.clients), Type::kGauge));
  out.push_back(single("haystack_control_subscribers", "control socket clients following alerts",
                       double(k.subscribers), Type::kGauge));
  out.push_back(single("haystack_control_subscribers_dropped_total",
                       "alert followers dropped for falling behind", double(k.subscribers_dropped)));
  out.push_back(single("haystack_control_lines_too_long_total",
                       "control socket requests refused for length", double(k.lines_too_long)));
  out.push_back(single("haystack_flowtree_bins_completed_total", "site tree sets completed per bin",
                       double(s.flow.bins_completed)));
  out.push_back(single("haystack_flowtree_rollups_completed_total", "roll-up tree sets completed",
                       double(s.flow.rollups_completed)));
  out.push_back(single("haystack_flowtree_late_records_total",
                       "per-core trees that arrived after their bin was completed",
                       double(s.flow.late_records)));
  out.push_back(single("haystack_flowtree_forced_completions_total",
                       "bins completed before every worker moved past them",
                       double(s.flow.forced_completions)));
  out.push_back(single("haystack_flowtree_trees_written_total", "tree files written", double(s.store.trees_written)));
  out.push_back(single("haystack_flowtree_bytes_written_total", "tree file bytes written", double(s.store.bytes_written)));
  out.push_back(single("haystack_flowtree_write_errors_total", "tree files that could not be written",
                       double(s.store.write_errors)));

  if (!s.store_backend.empty()) {
    const store::StoreCounters& d = s.store_db;
    const Labels b{{"backend", s.store_backend}};
    auto add = [&](const char* name, const char* help, uint64_t v, Type t = Type::kCounter) {
      Family f = family(name, help, t);
      f.samples.push_back(Sample{b, double(v)});
      out.push_back(std::move(f));
    };
    add("haystack_store_trees_written_total", "site trees committed to the store", d.trees_written);
    add("haystack_store_rows_written_total", "other rows committed (detections, alerts, ...)",
        d.rows_written);
    add("haystack_store_bytes_written_total", "payload bytes committed", d.bytes_written);
    add("haystack_store_write_errors_total", "failed store writes", d.write_errors);
    add("haystack_store_retries_total", "batches sent again to a remote store", d.retries);
    Family drops = family("haystack_store_dropped_rows_total", "rows lost, by reason");
    drops.samples.push_back(
        Sample{{{"backend", s.store_backend}, {"reason", "queue_full"}}, double(d.dropped_queue_full)});
    drops.samples.push_back(
        Sample{{{"backend", s.store_backend}, {"reason", "unwritten"}}, double(d.dropped_unwritten)});
    out.push_back(std::move(drops));
    add("haystack_store_queued_rows", "rows waiting to be written", d.queued_rows, Type::kGauge);
    add("haystack_store_rollups_written_total", "roll-up trees built by the store",
        d.rollups_written);
    add("haystack_store_retention_deleted_total", "rows removed by retention",
        d.retention_deleted);
  }
  if (!s.iot.is_null()) {
    out.push_back(single("haystack_hitlist_generation", "active hitlist generation (1 = loaded at start)",
                         double(u(s.iot, "hitlist", "generation")), Type::kGauge));
    out.push_back(single("haystack_hitlist_endpoints", "endpoints of the active hitlist",
                         double(u(s.iot, "hitlist", "endpoints")), Type::kGauge));
    Family r = family("haystack_hitlist_reloads_total", "hitlist reloads by result");
    r.samples.push_back(Sample{{{"result", "ok"}}, double(u(s.iot, "reloads", "ok"))});
    r.samples.push_back(Sample{{{"result", "failed"}}, double(u(s.iot, "reloads", "failed"))});
    out.push_back(std::move(r));
    out.push_back(single("haystack_iot_records_unknown_generation_total",
                         "bin records dropped because their hitlist generation was gone",
                         double(u(s.iot, "reloads", "records_unknown_generation"))));
    auto top = [&](const char* k) { return s.iot.contains(k) ? s.iot[k].get<uint64_t>() : 0; };
    out.push_back(single("haystack_iot_windows_closed_total", "hourly and daily detection windows closed",
                         double(top("windows_closed"))));
    out.push_back(single("haystack_iot_detections_written_total", "detections written",
                         double(top("detections_written"))));
    out.push_back(single("haystack_iot_late_bins_total", "evidence bins that arrived after their window closed",
                         double(top("late_bins"))));
  }
  if (!s.learning.is_null()) {
    auto v = [&](const char* k) { return double(s.learning[k].get<uint64_t>()); };
    out.push_back(single("haystack_learning_records_total", "learned bindings received by control",
                         v("records")));
    out.push_back(single("haystack_learning_bindings", "distinct learned bindings kept",
                         v("bindings"), Type::kGauge));
    out.push_back(single("haystack_learning_bindings_dropped_total",
                         "learned bindings not kept: learning.max_bindings reached",
                         v("bindings_dropped")));
    out.push_back(single("haystack_learning_records_unknown_generation_total",
                         "learned bindings whose generation was gone (pattern not resolved)",
                         v("records_unknown_generation")));
    Family ips = family("haystack_learning_ips", "learned server IPs by classification", Type::kGauge);
    ips.samples.push_back(Sample{{{"class", "dedicated"}}, v("ips_dedicated")});
    ips.samples.push_back(Sample{{{"class", "shared"}}, v("ips_shared")});
    out.push_back(std::move(ips));
    out.push_back(single("haystack_learning_endpoints_added_total",
                         "learned endpoints added to the hitlist (learning.add_to_hitlist)",
                         v("endpoints_added")));
    out.push_back(single("haystack_learning_log_write_errors_total",
                         "failed writes of the learned-endpoint logs", v("log_write_errors")));
  }
  if (!s.ipfix.is_null()) {
    auto v = [&](const char* k) { return double(s.ipfix[k].get<uint64_t>()); };
    out.push_back(single("haystack_ipfix_records_exported_total", "IPFIX data records sent",
                         v("records_exported")));
    Family d = family("haystack_ipfix_records_dropped_total", "IPFIX records not sent, by reason");
    d.samples.push_back(Sample{{{"reason", "queue_full"}}, v("dropped_queue_full")});
    d.samples.push_back(Sample{{{"reason", "unsent"}}, v("dropped_unsent")});
    out.push_back(std::move(d));
    out.push_back(single("haystack_ipfix_messages_total", "IPFIX messages sent", v("messages")));
    out.push_back(single("haystack_ipfix_send_errors_total", "IPFIX messages that failed to send",
                         v("send_errors")));
    out.push_back(single("haystack_ipfix_connect_failures_total",
                         "failed connection attempts to the collector", v("connect_failures")));
    out.push_back(single("haystack_ipfix_queue_records", "records waiting for the exporter thread",
                         v("queue_records"), Type::kGauge));
  }
  out.push_back(single("haystack_metrics_scrapes_total", "successful scrapes of this endpoint",
                       double(http.scrapes)));
  out.push_back(single("haystack_metrics_bad_requests_total", "HTTP requests answered with 4xx",
                       double(http.bad_requests)));
  return out;
}

}  // namespace haystack
