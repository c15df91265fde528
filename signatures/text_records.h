// Line splitter shared by the builder's input formats (catalog, DNS observations): the
// same lexical rules as the bundle format (docs/hitlist-format.md §Syntax) — fields
// separated by spaces/tabs, `#` comment lines, blank lines, `\n` or `\r\n`, no control
// characters, at most 4096 bytes per line.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace haystack::hitlist {

// Calls fn(line_number, fields, raw_line) for each non-blank, non-comment line. Throws
// HitlistError(name, line, "line", ...) for over-long lines and control characters.
void for_each_record(
    std::string_view text, const std::string& name,
    const std::function<void(int, const std::vector<std::string_view>&, std::string_view)>& fn);

// Reads a whole file; throws HitlistError(path, 0, "file", "cannot open: ...").
std::string read_text_file(const std::string& path);

// Rest of the line after the first `skip` fields (for free-text trailing fields).
std::string_view rest_after_fields(std::string_view line, size_t skip);

}  // namespace haystack::hitlist
