// The store the configuration asks for (store.backend): nullptr for `none`.
#pragma once

#include <functional>
#include <memory>

#include "control/config.h"
#include "control/store/store.h"

namespace haystack::store {

// Throws std::runtime_error naming the file when the store cannot be opened. `on_rollup`
// receives every roll-up tree set the store builds itself (SQLite builds roll-ups from
// its committed bins; FlowSummaries then must not roll up: see store_makes_rollups).
std::unique_ptr<Store> open_store(const Config& cfg,
                                  std::function<void(const SiteTrees&)> on_rollup = {});

// True when the configured backend builds the flowtree.rollups levels itself, so the
// in-memory roll-ups of FlowSummaries must be switched off (one producer per granularity).
bool store_makes_rollups(const Config& cfg);

// Tree settings per configured feature set; `worker` picks the RNG seed (worker trees
// 0..W-1, kSiteSeed for control's site trees), so replay is deterministic.
inline constexpr uint32_t kSiteSeed = 0xffff;
std::vector<flowtree::FlowtreeConfig> tree_configs_for(const Config& cfg, uint32_t worker);

}  // namespace haystack::store
