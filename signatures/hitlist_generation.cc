#include "signatures/hitlist_generation.h"

#include "signatures/hitlist_loader.h"

namespace haystack::hitlist {

std::shared_ptr<const Generation> load_generation(const std::string& path, uint64_t number) {
  auto g = std::make_shared<Generation>();
  g->number = number;
  g->path = path;
  g->bundle = std::make_shared<const Bundle>(load_bundle(path));
  g->table = HitlistTable::compile(*g->bundle);
  return g;
}

}  // namespace haystack::hitlist
