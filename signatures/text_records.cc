#include "signatures/text_records.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "signatures/hitlist_loader.h"

namespace haystack::hitlist {

void for_each_record(
    std::string_view text, const std::string& name,
    const std::function<void(int, const std::vector<std::string_view>&, std::string_view)>& fn) {
  constexpr size_t kMaxLine = 4096;
  int line_no = 0;
  size_t pos = 0;
  std::vector<std::string_view> fields;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > kMaxLine) throw HitlistError(name, line_no, "line", "longer than 4096 bytes");
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f)
        throw HitlistError(name, line_no, "line", "control character");
    }
    fields.clear();
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const size_t s = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > s) fields.push_back(line.substr(s, i - s));
    }
    if (fields.empty() || fields[0].front() == '#') continue;
    fn(line_no, fields, line);
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw HitlistError(path, 0, "file", std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string_view rest_after_fields(std::string_view line, size_t skip) {
  size_t i = 0;
  for (size_t f = 0; f < skip; ++f) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  size_t e = line.size();
  while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t')) --e;
  return line.substr(i, e - i);
}

}  // namespace haystack::hitlist
