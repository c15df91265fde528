// One hitlist generation: a bundle loaded from a file, validated and compiled, with the
// number the workers stamp on every bin record they fill with it. Generation 1 is the
// bundle loaded at start; every successful reload publishes the next number.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "signatures/hitlist.h"
#include "signatures/hitlist_table.h"

namespace haystack::hitlist {

struct Generation {
  uint64_t number = 0;
  std::string path;
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<const HitlistTable> table;
};

// Loads, validates and compiles `path` (throws HitlistError naming file, line and field).
std::shared_ptr<const Generation> load_generation(const std::string& path, uint64_t number);

}  // namespace haystack::hitlist
