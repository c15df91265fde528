// TLS ClientHello SNI extraction; see tls_sni.h for the contract.
#include "dataplane/tls_sni.h"

namespace haystack {

namespace {

constexpr uint8_t kHandshake = 22;
constexpr uint8_t kClientHello = 1;
constexpr uint16_t kServerNameExt = 0;
constexpr uint8_t kHostName = 0;
constexpr size_t kMaxRecord = 16384 + 2048;

inline uint16_t rd16(const uint8_t* p) {
  return uint16_t((p[0] << 8) | p[1]);
}

}  // namespace

std::string_view sni_error_name(SniError e) {
  // clang-format off
  switch (e) {
    case SniError::kOk: return "ok";
    case SniError::kNotHandshake: return "not_handshake";
    case SniError::kNotClientHello: return "not_client_hello";
    case SniError::kNoSni: return "no_sni";
    case SniError::kBadRecordLength: return "bad_record_length";
    case SniError::kBadHandshakeLength: return "bad_handshake_length";
    case SniError::kBadLength: return "bad_length";
    case SniError::kTruncated: return "truncated";
    case SniError::kBadName: return "bad_name";
    case SniError::kCount: break;
  }
  // clang-format on
  return "unknown";
}

SniError parse_client_hello_sni(const uint8_t* d, size_t len, DnsName& out) {
  out.len = 0;
  out.text[0] = '\0';
  if (d == nullptr || len < 1 || d[0] != kHandshake) return SniError::kNotHandshake;
  if (len < 5) return SniError::kTruncated;
  if (d[1] != 3) return SniError::kNotHandshake;
  const size_t rec_len = rd16(d + 3);
  if (rec_len == 0 || rec_len > kMaxRecord) return SniError::kBadRecordLength;
  const size_t rec_end = 5 + rec_len;  // declared; may exceed the capture
  if (len < 6) return SniError::kTruncated;
  if (d[5] != kClientHello) return SniError::kNotClientHello;
  if (len < 9) return SniError::kTruncated;
  const size_t hs_len = size_t(d[6]) << 16 | size_t(d[7]) << 8 | d[8];
  // version(2) random(32) session_id(1+) suites(2+) compression(1+)
  if (hs_len < 38 || 9 + hs_len > rec_end) return SniError::kBadHandshakeLength;
  const size_t hs_end = 9 + hs_len;
  const size_t cap = len < hs_end ? len : hs_end;  // bytes we may read

  size_t p = 9 + 2 + 32;  // client_version, random
  auto need = [&](size_t n) { return p + n <= cap; };
  // Skips a vector with an n-byte length; kBadLength if it overruns the handshake,
  // kTruncated if only the capture ends first.
  auto skip_vec = [&](size_t lbytes, SniError& err) {
    if (!need(lbytes)) {
      err = SniError::kTruncated;
      return false;
    }
    const size_t l = lbytes == 1 ? d[p] : rd16(d + p);
    p += lbytes;
    if (p + l > hs_end) {
      err = SniError::kBadLength;
      return false;
    }
    p += l;
    return true;
  };
  SniError err = SniError::kOk;
  if (!skip_vec(1, err) || !skip_vec(2, err) || !skip_vec(1, err)) return err;
  if (p == hs_end) return SniError::kNoSni;  // no extensions at all (TLS 1.0 style)
  if (!need(2)) return SniError::kTruncated;
  const size_t ext_end = p + 2 + rd16(d + p);
  if (ext_end > hs_end) return SniError::kBadLength;
  p += 2;
  while (p < ext_end) {
    if (!need(4)) return SniError::kTruncated;
    const uint16_t type = rd16(d + p);
    const size_t elen = rd16(d + p + 2);
    p += 4;
    if (p + elen > ext_end) return SniError::kBadLength;
    if (type != kServerNameExt) {
      p += elen;
      continue;
    }
    const size_t sn_end = p + elen;
    if (!need(2)) return SniError::kTruncated;
    const size_t list_end = p + 2 + rd16(d + p);
    if (list_end > sn_end) return SniError::kBadLength;
    p += 2;
    while (p < list_end) {
      if (!need(3)) return SniError::kTruncated;
      const uint8_t nt = d[p];
      const size_t nlen = rd16(d + p + 1);
      p += 3;
      if (p + nlen > list_end) return SniError::kBadLength;
      if (nt != kHostName) {
        p += nlen;
        continue;
      }
      if (!need(nlen)) return SniError::kTruncated;
      size_t n = nlen;
      if (n > 0 && d[p + n - 1] == '.') --n;  // one trailing dot
      if (n == 0 || n > DnsName::kMaxLen) return SniError::kBadName;
      size_t label = 0;  // length of the current label (1..63)
      for (size_t i = 0; i < n; ++i) {
        uint8_t c = d[p + i];
        if (c >= 'A' && c <= 'Z') c = uint8_t(c - 'A' + 'a');
        if (c == '.') {
          if (label == 0) return SniError::kBadName;
          label = 0;
        } else {
          const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
          if (!ok || ++label > 63) return SniError::kBadName;
        }
        out.text[i] = char(c);
      }
      if (label == 0) return SniError::kBadName;  // empty last label
      out.text[n] = '\0';
      out.len = uint8_t(n);
      return SniError::kOk;
    }
    return SniError::kNoSni;  // a server_name extension without a host_name
  }
  return SniError::kNoSni;
}

}  // namespace haystack
