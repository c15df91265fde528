#include "control/store/open_store.h"

#include "control/store/clickhouse_store.h"

namespace haystack::store {

// Backends are added here as they land. Without one (none, or sqlite before its backend
// is merged) control persists site trees as files only (flowtree.persist).
std::unique_ptr<Store> open_store(const Config& cfg) {
  switch (cfg.store.backend) {
    case StoreBackend::kClickHouse:
      return make_clickhouse_store(cfg);
    case StoreBackend::kSqlite:
    case StoreBackend::kNone:
      return nullptr;
  }
  return nullptr;
}

}  // namespace haystack::store
