// The effective configuration as JSON, shaped like the YAML file (same key names and
// nesting, defaults filled in), for `haystackctl config show`.
#pragma once

#include <nlohmann/json.hpp>

#include "control/config.h"

namespace haystack {

nlohmann::ordered_json config_to_json(const Config& c);

}  // namespace haystack
