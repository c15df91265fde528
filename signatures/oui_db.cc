#include "signatures/oui_db.h"

#include <filesystem>
#include <fstream>

namespace haystack::oui {

namespace {

// RFC 4180 fields of one record; false while a quoted field is still open (the IEEE
// files have addresses with line breaks inside quotes).
bool split_csv(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(std::move(cur));
  return !quoted;
}

int slot(uint8_t bits) { return bits == 36 ? 0 : bits == 28 ? 1 : 2; }

}  // namespace

std::vector<std::string> OuiDb::default_paths() {
  std::vector<std::string> out;
  for (const char* f : {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"}) {
    std::string p = std::string("/usr/share/ieee-data/") + f;
    if (std::filesystem::exists(p)) out.push_back(p);
  }
  return out;
}

OuiDb OuiDb::load(const std::vector<std::string>& paths) {
  OuiDb db;
  std::vector<std::string> f;
  for (const auto& path : paths) {
    std::ifstream in(path);
    if (!in) throw OuiError(path + ":0: file: cannot open");
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto fail = [&](const char* field, const std::string& msg) {
        throw OuiError(path + ":" + std::to_string(n) + ": " + field + ": " + msg);
      };
      if (n == 1 || line.empty() || line == "\r") continue;  // header
      std::string more;
      int extra = 0;
      for (; !split_csv(line, f); ++extra) {
        if (extra == 8 || !std::getline(in, more)) fail("line", "unterminated quote");
        line += "\n" + more;
      }
      if (f.size() < 3) fail("line", "expected Registry,Assignment,Organization Name,...");
      const std::string& reg = f[0];
      uint8_t bits = reg == "MA-L" ? 24 : reg == "MA-M" ? 28 : (reg == "MA-S" || reg == "IAB") ? 36 : 0;
      if (bits == 0) fail("Registry", "unknown registry '" + reg + "'");
      const std::string& hex = f[1];
      if (hex.size() != size_t(bits / 4)) {
        fail("Assignment", "expected " + std::to_string(bits / 4) + " hex digits, got '" + hex + "'");
      }
      uint64_t v = 0;
      for (char c : hex) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) fail("Assignment", "not hexadecimal: '" + hex + "'");
        v = v << 4 | uint64_t(d);
      }
      std::string org = f[2];
      while (!org.empty() && org.back() == ' ') org.pop_back();
      // The registries list a few blocks twice; the first entry wins, deterministically.
      db.by_bits_[slot(bits)].emplace(v, Assignment{org, bits, v});
      n += extra;  // errors name a record's first line
    }
  }
  return db;
}

const Assignment* OuiDb::lookup(uint64_t mac48) const {
  for (uint8_t bits : {36, 28, 24}) {
    auto& m = by_bits_[slot(bits)];
    auto it = m.find(mac48 >> (48 - bits));
    if (it != m.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace haystack::oui
