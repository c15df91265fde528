#include "control/store/open_store.h"

#include "control/store/clickhouse_store.h"
#include "control/store/sqlite_store.h"

namespace haystack::store {

std::vector<flowtree::FlowtreeConfig> tree_configs_for(const Config& cfg, uint32_t worker) {
  std::vector<flowtree::FlowtreeConfig> out;
  for (flowtree::FeatureSet fs : cfg.flowtree.feature_sets) {
    flowtree::FlowtreeConfig c;
    c.feature_set = fs;
    c.with_proto = cfg.flowtree.protocol_key;
    c.budget = cfg.flowtree.budget_for(fs);
    c.p = cfg.flowtree.insert_probability;
    c.seed = (uint64_t(worker) << 8 | uint64_t(fs)) * 0x9e3779b97f4a7c15ULL + 1;
    out.push_back(c);
  }
  return out;
}

bool store_makes_rollups(const Config& cfg) {
  return cfg.store.backend == StoreBackend::kSqlite;
}

std::unique_ptr<Store> open_store(const Config& cfg,
                                  std::function<void(const SiteTrees&)> on_rollup) {
  switch (cfg.store.backend) {
    case StoreBackend::kNone:
      return nullptr;
    case StoreBackend::kSqlite: {
      SqliteOptions o;
      o.path = cfg.store.sqlite.path;
      o.site = cfg.site_id;
      o.bin_seconds = cfg.bin_seconds;
      o.rollups = cfg.flowtree.rollup_seconds;
      o.site_configs = tree_configs_for(cfg, kSiteSeed);
      o.synchronous_full = cfg.store.sqlite.synchronous_full;
      o.retention_days = cfg.store.sqlite.retention_days;
      o.event_retention_days = cfg.store.sqlite.event_retention_days;
      o.max_bytes = cfg.store.sqlite.max_bytes;
      o.retention_interval_seconds = cfg.store.sqlite.retention_interval_seconds;
      o.on_rollup = std::move(on_rollup);
      return std::make_unique<SqliteStore>(std::move(o));
    }
    case StoreBackend::kClickHouse:
      return make_clickhouse_store(cfg);
  }
  return nullptr;
}

}  // namespace haystack::store
