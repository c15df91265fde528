#include "control/flowql/lexer.h"

#include <cctype>
#include <cstdio>

#include "control/flowql/error.h"

namespace haystack::flowql {

namespace {

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':';
}
bool digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}
int num(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// Lexes a date-time starting at i (known to begin with DDDD-DD-DD); advances i.
int64_t lex_time(std::string_view s, size_t& i) {
  const int col = int(i) + 1;
  const int y = num(s, i, 4), mon = num(s, i + 5, 2), d = num(s, i + 8, 2);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (y < 1970 || mon < 1 || mon > 12 || d < 1 || d > kDays[mon - 1] ||
      (mon == 2 && d == 29 && !leap)) {
    throw FlowQLError(col, "invalid date '" + std::string(s.substr(i, 10)) + "'");
  }
  i += 10;
  int h = 0, min = 0, sec = 0;
  if (i < s.size() && (s[i] == ' ' || s[i] == 'T') && digits(s, i + 1, 2) && i + 3 < s.size() &&
      s[i + 3] == ':' && digits(s, i + 4, 2)) {
    const int tcol = int(i) + 2;
    h = num(s, i + 1, 2);
    min = num(s, i + 4, 2);
    i += 6;
    if (i < s.size() && s[i] == ':' && digits(s, i + 1, 2)) {
      sec = num(s, i + 1, 2);
      i += 3;
    }
    if (h > 23 || min > 59 || sec > 59) throw FlowQLError(tcol, "invalid time of day");
  }
  if (i < s.size() && s[i] == 'Z') ++i;
  if (i < s.size() && word_char(s[i]))
    throw FlowQLError(int(i) + 1, "unexpected text after a date");
  return utc_seconds(y, mon, d, h, min, sec);
}

}  // namespace

int64_t utc_seconds(int y, int mon, int d, int h, int min, int s) {
  // Days from civil (H. Hinnant's algorithm).
  y -= mon <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (mon + (mon > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = era * 146097 + doe - 719468;
  return days * 86400 + h * 3600 + min * 60 + s;
}

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    Token t;
    t.column = int(i) + 1;
    if (digits(s, i, 4) && i + 10 <= s.size() && s[i + 4] == '-' && digits(s, i + 5, 2) &&
        s[i + 7] == '-' && digits(s, i + 8, 2)) {
      t.kind = Token::Kind::kTime;
      const size_t start = i;
      t.time = lex_time(s, i);
      t.text = std::string(s.substr(start, i - start));
    } else if (word_char(c)) {
      const size_t start = i;
      while (i < s.size() && word_char(s[i])) ++i;
      t.kind = Token::Kind::kWord;
      t.text = std::string(s.substr(start, i - start));
    } else if (c == '\'' || c == '"') {
      const size_t end = s.find(c, i + 1);
      if (end == std::string_view::npos) throw FlowQLError(t.column, "unterminated string");
      t.kind = Token::Kind::kString;
      t.text = std::string(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      static constexpr struct {
        char c;
        Token::Kind k;
      } kPunct[] = {
          {'(', Token::Kind::kLParen}, {')', Token::Kind::kRParen}, {',', Token::Kind::kComma},
          {'=', Token::Kind::kEq},     {'-', Token::Kind::kMinus},  {'/', Token::Kind::kSlash},
          {'|', Token::Kind::kPipe},   {'*', Token::Kind::kStar},   {';', Token::Kind::kSemicolon}};
      bool found = false;
      for (const auto& p : kPunct) {
        if (p.c == c) {
          t.kind = p.k;
          found = true;
        }
      }
      if (!found) {
        char buf[48];
        if (std::isprint(static_cast<unsigned char>(c))) {
          std::snprintf(buf, sizeof buf, "unexpected character '%c'", c);
        } else {
          std::snprintf(buf, sizeof buf, "unexpected byte 0x%02x",
                        unsigned(static_cast<unsigned char>(c)));
        }
        throw FlowQLError(t.column, buf);
      }
      t.text = std::string(1, c);
      ++i;
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.column = int(s.size()) + 1;
  out.push_back(end);
  return out;
}

std::string format_error(std::string_view query, const FlowQLError& e) {
  std::string out =
      e.column() > 0 ? "column " + std::to_string(e.column()) + ": " + e.what() : e.what();
  if (e.column() <= 0) return out;
  // One line of the query: the one holding the column (queries may span lines).
  size_t col = size_t(e.column()) - 1;
  size_t begin = col > query.size() ? query.size() : col;
  while (begin > 0 && query[begin - 1] != '\n') --begin;
  size_t end = query.find('\n', begin);
  if (end == std::string_view::npos) end = query.size();
  out += "\n  ";
  out += query.substr(begin, end - begin);
  out += "\n  ";
  for (size_t i = begin; i < col; ++i) out += (i < query.size() && query[i] == '\t') ? '\t' : ' ';
  out += '^';
  return out;
}

}  // namespace haystack::flowql
