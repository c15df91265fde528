// One hitlist generation: a bundle loaded from a file, validated and compiled, with the
// number the workers stamp on every bin record they fill with it. Generation 1 is the
// bundle loaded at start; every successful reload publishes the next number. With
// on-the-wire learning on, the generation also carries its name matcher (Hyperscan
// database and per-worker scratch), so the RCU path that publishes and reclaims the
// table does the same for the matcher.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "signatures/hitlist.h"
#include "signatures/hitlist_table.h"
#include "signatures/name_matcher.h"

namespace haystack::hitlist {

struct Generation {
  uint64_t number = 0;
  std::string path;
  std::shared_ptr<const Bundle> bundle;
  std::shared_ptr<const HitlistTable> table;
  std::shared_ptr<const NameMatcher> names;  // nullptr: learning off
};

// What a generation needs to build its name matcher; nullptr / absent: no matcher.
struct NameMatcherSpec {
  std::vector<BackendPattern> backend;
  std::string backend_file;
  NameMatcherOptions options;
};

// Loads, validates and compiles `path` (throws HitlistError naming file, line and field).
std::shared_ptr<const Generation> load_generation(const std::string& path, uint64_t number,
                                                  const NameMatcherSpec* names = nullptr);
// Compiles an in-memory bundle (learned endpoints added to the current one).
std::shared_ptr<const Generation> make_generation(Bundle bundle, const std::string& path,
                                                  uint64_t number,
                                                  const NameMatcherSpec* names = nullptr);

}  // namespace haystack::hitlist
