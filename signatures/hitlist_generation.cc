#include "signatures/hitlist_generation.h"

#include "signatures/hitlist_loader.h"

namespace haystack::hitlist {

std::shared_ptr<const Generation> make_generation(Bundle bundle, const std::string& path,
                                                  uint64_t number, const NameMatcherSpec* names) {
  auto g = std::make_shared<Generation>();
  g->number = number;
  g->path = path;
  g->bundle = std::make_shared<const Bundle>(std::move(bundle));
  g->table = HitlistTable::compile(*g->bundle);
  if (names != nullptr)
    g->names = NameMatcher::build(*g->bundle, names->backend, names->backend_file, names->options);
  return g;
}

std::shared_ptr<const Generation> load_generation(const std::string& path, uint64_t number,
                                                  const NameMatcherSpec* names) {
  return make_generation(load_bundle(path), path, number, names);
}

}  // namespace haystack::hitlist
