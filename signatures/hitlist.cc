#include "signatures/hitlist.h"

namespace haystack::hitlist {

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kPlatform: return "platform";
    case Level::kManufacturer: return "manufacturer";
    case Level::kProduct: return "product";
  }
  return "?";
}

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kPrimary: return "primary";
    case Role::kSupport: return "support";
  }
  return "?";
}

}  // namespace haystack::hitlist
