#include "control/telemetry_commands.h"

#include <rte_telemetry.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

namespace haystack {

namespace {

using ojson = nlohmann::ordered_json;

std::mutex g_mu;
std::shared_ptr<const ojson> g_doc = std::make_shared<const ojson>(ojson::object());

std::shared_ptr<const ojson> doc() {
  std::lock_guard lk(g_mu);
  return g_doc;
}

// Flat JSON object -> telemetry dict: unsigned numbers and strings; nested objects of
// numbers become containers one level deep (the telemetry format's limit for us).
void fill_dict(rte_tel_data* d, const ojson& o, bool nest) {
  rte_tel_data_start_dict(d);
  for (const auto& [k, v] : o.items()) {
    if (v.is_number_unsigned() || v.is_number_integer()) {
      rte_tel_data_add_dict_u64(d, k.c_str(), v.get<uint64_t>());
    } else if (v.is_string()) {
      rte_tel_data_add_dict_string(d, k.c_str(), v.get<std::string>().c_str());
    } else if (v.is_boolean()) {
      rte_tel_data_add_dict_u64(d, k.c_str(), v.get<bool>() ? 1 : 0);
    } else if (v.is_object() && nest) {
      rte_tel_data* c = rte_tel_data_alloc();
      if (c == nullptr) continue;
      fill_dict(c, v, false);
      rte_tel_data_add_dict_container(d, k.c_str(), c, 0);
    }
  }
}

int cmd_stats(const char*, const char* params, rte_tel_data* d) {
  auto j = doc();
  if (params != nullptr && *params != '\0') {  // a worker index
    char* end = nullptr;
    unsigned long w = std::strtoul(params, &end, 10);
    if (*end != '\0' || !j->contains("workers") || w >= (*j)["workers"].size()) return -EINVAL;
    fill_dict(d, (*j)["workers"][w]["counters"], true);
    return 0;
  }
  fill_dict(d, j->value("totals", ojson::object()), true);
  return 0;
}

int cmd_hitlist(const char*, const char*, rte_tel_data* d) {
  auto j = doc();
  if (!j->contains("iot") || (*j)["iot"].is_null()) {
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "status", "IoT detection is off (no iot.hitlist)");
    return 0;
  }
  ojson h = (*j)["iot"]["hitlist"];
  for (const auto& [k, v] : (*j)["iot"]["reloads"].items()) h["reloads_" + k] = v;
  fill_dict(d, h, false);
  return 0;
}

int cmd_bins(const char*, const char*, rte_tel_data* d) {
  auto j = doc();
  ojson o;
  const ojson& bins = j->value("bins", ojson::array());
  o["bin_seconds"] = j->value("bin_seconds", 0);
  o["bins"] = bins.size();
  if (!bins.empty()) o["last"] = bins.back();
  if (j->contains("control")) o["control"] = (*j)["control"];
  fill_dict(d, o, true);
  return 0;
}

}  // namespace

void register_telemetry_commands() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (rte_telemetry_register_cmd("/haystack/stats", cmd_stats,
                                   "Worker counters summed (or of worker N: /haystack/stats,N)") != 0 ||
        rte_telemetry_register_cmd("/haystack/hitlist", cmd_hitlist,
                                   "Active hitlist generation, validity and reload counters") != 0 ||
        rte_telemetry_register_cmd("/haystack/bins", cmd_bins,
                                   "Bins collected by control and the latest closed bin") != 0) {
      throw std::runtime_error("cannot register /haystack/* DPDK telemetry commands");
    }
  });
}

void publish_telemetry(nlohmann::ordered_json stats) {
  auto p = std::make_shared<const ojson>(std::move(stats));
  std::lock_guard lk(g_mu);
  g_doc = std::move(p);
}

}  // namespace haystack
