#include "control/store/open_store.h"

namespace haystack::store {

// Backends are added here as they land (SQLite, ClickHouse); until then nothing is
// configured and control persists site trees as files only (flowtree.persist).
std::unique_ptr<Store> open_store(const Config&) { return nullptr; }

}  // namespace haystack::store
