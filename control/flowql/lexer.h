// FlowQL lexer. Words are maximal runs of [A-Za-z0-9_.:] so that addresses (10.1.0.0,
// 2001:db8::), numbers, keywords and names are one token each; the parser decides what a
// word means from its position. A date `YYYY-MM-DD[( |T)hh:mm[:ss]][Z]` is one kTime
// token (UTC seconds), so '-' elsewhere is an operator (top-10, 1024-2047).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace haystack::flowql {

struct Token {
  enum class Kind {
    kWord,
    kString,
    kTime,
    kLParen,
    kRParen,
    kComma,
    kEq,
    kMinus,
    kSlash,
    kPipe,
    kStar,
    kSemicolon,
    kEnd
  };
  Kind kind = Kind::kEnd;
  std::string text;  // as written (kString: without quotes)
  int64_t time = 0;  // kTime: UTC seconds
  int column = 1;    // 1-based byte column of the first character
};

// Throws FlowQLError at the offending column (unexpected character, unterminated string,
// impossible date). The result always ends with a kEnd token.
std::vector<Token> lex(std::string_view text);

// Seconds since 1970-01-01 for a proleptic Gregorian UTC date-time (no validation).
int64_t utc_seconds(int y, int mon, int d, int h, int min, int s);

}  // namespace haystack::flowql
