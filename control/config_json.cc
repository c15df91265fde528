#include "control/config_json.h"

#include "control/tree_store.h"
#include "dataplane/sampler.h"

namespace haystack {

nlohmann::ordered_json config_to_json(const Config& c) {
  using ojson = nlohmann::ordered_json;
  ojson j;
  j["source_file"] = c.source_file;
  j["site_id"] = c.site_id;
  j["mode"] = std::string(mode_name(c.mode));
  ojson prefixes = ojson::array();
  for (const Prefix& p : c.subscriber_prefixes) prefixes.push_back(p.str());
  j["subscriber_prefixes"] = prefixes;
  j["subscriber_prefix_length"] = {{"ipv4", c.subscriber_ipv4_len},
                                   {"ipv6", c.subscriber_ipv6_len}};
  ojson ports = ojson::array();
  for (const PortConfig& p : c.ports) {
    ojson port = {{"name", p.name},
                  {"device", p.device},
                  {"rx_queues", p.rx_queues},
                  {"rx_descriptors", p.rx_descriptors},
                  {"promiscuous", p.promiscuous}};
    if (p.xdp_sample_rate != 0) {
      port["xdp_sample_rate"] = p.xdp_sample_rate;
      port["xdp_unsampled"] = p.xdp_drop_unsampled ? "drop" : "pass";
    }
    ports.push_back(std::move(port));
  }
  j["ports"] = ports;
  j["workers"] = c.workers;
  j["mempool"] = {
      {"mbufs", c.mempool_mbufs}, {"cache", c.mempool_cache}, {"data_room", c.mbuf_data_room}};
  j["burst_size"] = c.burst_size;
  j["rings"] = {{"bin_ring_size", c.bin_ring_size}, {"bin_records", c.bin_records}};
  j["sampling"] = {{"method", std::string(sample_method_name(c.sampling.method))},
                   {"flow_rate", c.sampling.flow_rate},
                   {"iot_rate", c.sampling.iot_rate},
                   {"hash_seed", c.sampling.hash_seed}};
  j["bins"] = {{"seconds", c.bin_seconds}};
  j["clock"] = std::string(clock_name(c.clock));
  j["state_dir"] = c.state_dir;
  j["alert_file"] = c.alert_file;
  j["log"] = {{"level", c.log.level},
              {"format", c.log.format == LogFormat::kJson ? "json" : "text"},
              {"file", c.log.file},
              {"max_file_mb", c.log.max_file_mb},
              {"max_files", c.log.max_files},
              {"repeat_limit", c.log.repeat_limit}};
  ojson sets = ojson::array();
  for (auto fs : c.flowtree.feature_sets)
    sets.push_back(std::string(flowtree::feature_set_name(fs)));
  j["flowtree"] = {{"feature_sets", sets},
                   {"node_budget", c.flowtree.node_budget},
                   {"port_node_budget", c.flowtree.port_node_budget},
                   {"insert_probability", c.flowtree.insert_probability},
                   {"protocol_key", c.flowtree.protocol_key},
                   {"flow_table_size", c.flowtree.flow_table_size},
                   {"rollups", c.flowtree.rollup_seconds},
                   {"persist", c.flowtree.persist}};
  ojson retention = ojson::object();
  for (const auto& [sec, days] : c.store.sqlite.retention_days)
    retention[TreeStore::granularity_label(sec)] = days;
  j["store"] = {{"backend", store_backend_name(c.store.backend)},
                {"sqlite",
                 {{"path", c.store.sqlite.path},
                  {"synchronous", c.store.sqlite.synchronous_full ? "full" : "normal"},
                  {"retention", retention},
                  {"event_retention_days", c.store.sqlite.event_retention_days},
                  {"max_bytes", c.store.sqlite.max_bytes},
                  {"retention_interval", c.store.sqlite.retention_interval_seconds}}}};
  j["ddos"] = {{"enabled", c.ddos.enabled},
               {"ports", c.ddos.ports},
               {"threshold_packets", c.ddos.threshold_packets}};
  const detection::DetectionConfig& d = c.iot.detection;
  j["iot"] = {
      {"hitlist", c.iot.hitlist},
      {"lines_per_worker", c.iot.lines_per_worker},
      {"policy", d.policy == detection::ThresholdPolicy::kFraction ? "fraction" : "guo-heidemann"},
      {"fraction", d.fraction_d},
      {"require_primary", d.require_primary},
      {"scanner_max_backend_ips", d.scanner_max_backend_ips},
      {"active_min_packets", d.active_min_packets},
      {"scan_alert_min_destinations", d.scan_alert_min_destinations},
      {"pseudonymize", c.iot.pseudonymize}};
  j["telemetry"] = {{"prometheus", c.telemetry.prometheus},
                    {"prometheus_listen", c.telemetry.prometheus_host + ":" +
                                              std::to_string(c.telemetry.prometheus_port)},
                    {"dpdk_commands", c.telemetry.dpdk_commands}};
  j["eui64"] = {{"enabled", c.eui64.enabled},
                {"entries_per_worker", c.eui64.entries_per_worker},
                {"oui_files", c.eui64.oui_files},
                {"iot_manufacturers", c.eui64.iot_manufacturers}};
  j["control"] = {{"socket", c.control.socket}, {"max_clients", c.control.max_clients}};
  return j;
}

}  // namespace haystack
