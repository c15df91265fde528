// The configured store backend, opened (schema created or checked) at start.
#pragma once

#include <memory>

#include "control/config.h"
#include "control/store/store.h"

namespace haystack::store {

// nullptr when no backend is configured. Throws ConfigError / std::runtime_error naming
// the file or server when the store cannot be opened.
std::unique_ptr<Store> open_store(const Config& cfg);

}  // namespace haystack::store
