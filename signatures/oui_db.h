// OuiDb: MAC address -> manufacturer from the IEEE registries as Debian's ieee-data
// ships them (/usr/share/ieee-data: oui.csv MA-L 24-bit, mam.csv MA-M 28-bit, oui36.csv
// MA-S 36-bit; iab.csv IAB 36-bit). Lookups take the longest registered prefix, so a
// MA-S block inside an MA-L "IEEE Registration Authority" block names the real owner.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace haystack::oui {

class OuiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;  // "file:line: field: message"
};

struct Assignment {
  std::string organization;
  uint8_t bits = 24;     // 24, 28 or 36
  uint64_t prefix = 0;   // the assignment's bits, right-aligned
};

class OuiDb {
 public:
  // Loads the registry CSV files (header line, then Registry,Assignment,Organization
  // Name,Organization Address; quoted fields allowed). Throws OuiError.
  static OuiDb load(const std::vector<std::string>& paths);
  // The default Debian files that exist.
  static std::vector<std::string> default_paths();

  // The longest matching assignment of a 48-bit MAC, or nullptr.
  const Assignment* lookup(uint64_t mac48) const;
  size_t size() const { return by_bits_[0].size() + by_bits_[1].size() + by_bits_[2].size(); }

 private:
  std::unordered_map<uint64_t, Assignment> by_bits_[3];  // 36, 28, 24
};

}  // namespace haystack::oui
