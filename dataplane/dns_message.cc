// DNS response parser; see dns_message.h for the contract.
#include "dataplane/dns_message.h"

#include <cstring>

namespace haystack {

namespace {

constexpr size_t kHeader = 12;
constexpr uint16_t kClassIn = 1;

inline uint16_t rd16(const uint8_t* p) {
  return uint16_t((p[0] << 8) | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

inline bool label_char(uint8_t c, char& out) {
  if (c >= 'A' && c <= 'Z') {
    out = char(c - 'A' + 'a');
    return true;
  }
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
    out = char(c);
    return true;
  }
  return false;
}

// Decodes the name at `pos`. `next` receives the offset after the name's bytes at `pos`
// (after the first pointer if there is one). Pointers may go anywhere inside the message;
// the jump limit ends loops.
DnsError read_name(const uint8_t* msg, size_t len, size_t pos, DnsName& out, size_t& next) {
  out.len = 0;
  int jumps = 0;
  bool jumped = false;
  size_t n = 0;
  for (;;) {
    if (pos >= len) return DnsError::kTruncatedName;
    const uint8_t l = msg[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= len) return DnsError::kTruncatedName;
      const size_t target = size_t(l & 0x3f) << 8 | msg[pos + 1];
      if (!jumped) next = pos + 2;
      jumped = true;
      if (target >= len) return DnsError::kBadPointer;
      if (++jumps > DnsResponse::kMaxPointerJumps) return DnsError::kPointerLoop;
      pos = target;
      continue;
    }
    if ((l & 0xc0) != 0) return DnsError::kBadLabel;
    if (l == 0) {
      if (!jumped) next = pos + 1;
      break;
    }
    if (pos + 1 + l > len) return DnsError::kTruncatedName;
    if (n + (n ? 1 : 0) + l > DnsName::kMaxLen) return DnsError::kNameTooLong;
    if (n) out.text[n++] = '.';
    for (size_t i = 0; i < l; ++i) {
      if (!label_char(msg[pos + 1 + i], out.text[n++])) return DnsError::kBadLabelChar;
    }
    pos += 1 + l;
  }
  out.text[n] = '\0';
  out.len = uint8_t(n);
  return DnsError::kOk;
}

// Index of `name` in out.names, adding it if new; -1 when the table is full.
int intern(DnsResponse& out, const DnsName& name) {
  for (uint8_t i = 0; i < out.n_names; ++i) {
    if (out.names[i].len == name.len && std::memcmp(out.names[i].text, name.text, name.len) == 0)
      return i;
  }
  if (out.n_names == DnsResponse::kMaxNames) return -1;
  out.names[out.n_names] = name;
  return out.n_names++;
}

}  // namespace

std::string_view dns_error_name(DnsError e) {
  // clang-format off
  switch (e) {
    case DnsError::kOk: return "ok";
    case DnsError::kNotResponse: return "not_response";
    case DnsError::kRcode: return "rcode";
    case DnsError::kNoQuestion: return "no_question";
    case DnsError::kTruncatedHeader: return "truncated_header";
    case DnsError::kTruncatedName: return "truncated_name";
    case DnsError::kBadLabel: return "bad_label";
    case DnsError::kBadLabelChar: return "bad_label_char";
    case DnsError::kNameTooLong: return "name_too_long";
    case DnsError::kBadPointer: return "bad_pointer";
    case DnsError::kPointerLoop: return "pointer_loop";
    case DnsError::kTruncatedQuestion: return "truncated_question";
    case DnsError::kTruncatedAnswer: return "truncated_answer";
    case DnsError::kBadRdataLength: return "bad_rdata_length";
    case DnsError::kTooManyAnswers: return "too_many_answers";
    case DnsError::kTooManyNames: return "too_many_names";
    case DnsError::kTcpLength: return "tcp_length";
    case DnsError::kCount: break;
  }
  // clang-format on
  return "unknown";
}

DnsError parse_dns_response(const uint8_t* msg, size_t len, DnsResponse& out) {
  out.n_names = 0;
  out.n_answers = 0;
  out.other_answers = 0;
  if (msg == nullptr || len < kHeader) return DnsError::kTruncatedHeader;
  out.id = rd16(msg);
  const uint16_t flags = rd16(msg + 2);
  if ((flags & 0x8000) == 0) return DnsError::kNotResponse;
  if ((flags & 0x000f) != 0) return DnsError::kRcode;
  const uint16_t qd = rd16(msg + 4), an = rd16(msg + 6);
  if (qd == 0) return DnsError::kNoQuestion;

  DnsName name;
  size_t pos = kHeader;
  for (uint16_t q = 0; q < qd; ++q) {
    size_t next = 0;
    if (DnsError e = read_name(msg, len, pos, name, next); e != DnsError::kOk) return e;
    if (next + 4 > len) return DnsError::kTruncatedQuestion;
    if (q == 0) intern(out, name);  // the table is empty: always fits
    pos = next + 4;                 // QTYPE, QCLASS
  }
  for (uint16_t a = 0; a < an; ++a) {
    size_t next = 0;
    if (DnsError e = read_name(msg, len, pos, name, next); e != DnsError::kOk) {
      return e == DnsError::kTruncatedName ? DnsError::kTruncatedAnswer : e;
    }
    if (next + 10 > len) return DnsError::kTruncatedAnswer;
    const uint8_t* rr = msg + next;
    const uint16_t type = rd16(rr), cls = rd16(rr + 2);
    uint32_t ttl = rd32(rr + 4);
    if (ttl & 0x80000000u) ttl = 0;
    const size_t rdlen = rd16(rr + 8);
    const size_t rdata = next + 10;
    if (rdata + rdlen > len) return DnsError::kTruncatedAnswer;
    pos = rdata + rdlen;
    const bool wanted =
        cls == kClassIn && (type == uint16_t(DnsRrType::kA) || type == uint16_t(DnsRrType::kAaaa) ||
                            type == uint16_t(DnsRrType::kCname));
    if (!wanted) {
      ++out.other_answers;
      continue;
    }
    if (out.n_answers == DnsResponse::kMaxAnswers) return DnsError::kTooManyAnswers;
    DnsAnswer& ans = out.answers[out.n_answers];
    ans.type = DnsRrType(type);
    ans.ttl = ttl;
    const int owner = intern(out, name);
    if (owner < 0) return DnsError::kTooManyNames;
    ans.owner = uint8_t(owner);
    if (type == uint16_t(DnsRrType::kA)) {
      if (rdlen != 4) return DnsError::kBadRdataLength;
      ans.addr = IpAddr::from_v4(msg + rdata);
    } else if (type == uint16_t(DnsRrType::kAaaa)) {
      if (rdlen != 16) return DnsError::kBadRdataLength;
      ans.addr = IpAddr::from_v6(msg + rdata);
    } else {
      size_t end = 0;
      // The target must lie inside RDATA (its pointer may leave it).
      if (DnsError e = read_name(msg, rdata + rdlen, rdata, name, end); e != DnsError::kOk) {
        return e == DnsError::kTruncatedName ? DnsError::kBadRdataLength : e;
      }
      if (end != rdata + rdlen) return DnsError::kBadRdataLength;
      const int target = intern(out, name);
      if (target < 0) return DnsError::kTooManyNames;
      ans.target = uint8_t(target);
      ans.addr = IpAddr{};
    }
    ++out.n_answers;
  }
  return DnsError::kOk;
}

DnsError parse_dns_tcp(const uint8_t* seg, size_t len, DnsResponse& out) {
  out.n_names = 0;
  out.n_answers = 0;
  out.other_answers = 0;
  if (seg == nullptr || len < 2) return DnsError::kTcpLength;
  const size_t mlen = rd16(seg);
  if (mlen == 0 || mlen > len - 2) return DnsError::kTcpLength;
  return parse_dns_response(seg + 2, mlen, out);
}

}  // namespace haystack
