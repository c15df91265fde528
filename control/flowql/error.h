// FlowQL errors: every problem the lexer, parser or executor finds in a query carries the
// 1-based column it concerns (0 = the query as a whole) so the message can point at it.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace haystack::flowql {

class FlowQLError : public std::runtime_error {
 public:
  FlowQLError(int column, const std::string& message)
      : std::runtime_error(message), column_(column) {}
  int column() const { return column_; }

 private:
  int column_;
};

// "column 15: expected FROM, got 'FORM'" followed by the query and a caret under the
// column (tabs kept so the caret lines up in a terminal), e.g.
//   column 15: expected FROM, got 'FORM'
//     SELECT top-10 FORM 2026-11-01 10:00 TO 2026-11-01 11:00
//                   ^
std::string format_error(std::string_view query, const FlowQLError& e);

}  // namespace haystack::flowql
