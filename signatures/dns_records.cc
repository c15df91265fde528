#include "signatures/dns_records.h"

#include <arpa/inet.h>

#include <charconv>

#include "signatures/hitlist_loader.h"
#include "signatures/text_records.h"

namespace haystack::hitlist {
namespace {

bool parse_time(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;  // digits only, no sign
  for (char c : s)
    if (c < '0' || c > '9') return false;
  std::from_chars(s.data(), s.data() + s.size(), out);
  return true;
}

}  // namespace

std::string format_ip(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN];
  if (a.v4)
    inet_ntop(AF_INET, a.b.data() + 12, buf, sizeof buf);
  else
    inet_ntop(AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

bool ip_less(const IpAddr& a, const IpAddr& b) {
  if (a.v4 != b.v4) return a.v4;
  return a.b < b.b;
}

std::vector<DnsRecord> parse_dns_records(std::string_view text, const std::string& name) {
  std::vector<DnsRecord> out;
  bool header = false;
  for_each_record(
      text, name, [&](int line, const std::vector<std::string_view>& f, std::string_view) {
        auto fail = [&](const char* field, const std::string& msg) {
          throw HitlistError(name, line, field, msg);
        };
        if (!header) {
          if (f[0] != "dns" || f.size() != 2) fail("dns.version", "first record must be 'dns 1'");
          if (f[1] != "1") fail("dns.version", "unsupported version '" + std::string(f[1]) + "'");
          header = true;
          return;
        }
        if (f.size() != 5)
          fail("record", "expected 5 fields (name rrtype value first_seen last_seen), got " +
                             std::to_string(f.size()));
        DnsRecord r;
        r.line = line;
        if (!normalize_fqdn(f[0], r.name))
          fail("dns.name", "invalid name '" + std::string(f[0]) + "'");
        const std::string_view t = f[1];
        uint8_t raw[16];
        const std::string value(f[2]);
        if (t == "A") {
          r.type = RrType::kA;
          if (inet_pton(AF_INET, value.c_str(), raw) != 1)
            fail("dns.value", "A value '" + value + "' is not an IPv4 address");
          r.addr = IpAddr::from_v4(raw);
        } else if (t == "AAAA") {
          r.type = RrType::kAaaa;
          if (inet_pton(AF_INET6, value.c_str(), raw) != 1)
            fail("dns.value", "AAAA value '" + value + "' is not an IPv6 address");
          r.addr = IpAddr::from_v6(raw);
          if (IpAddr::from_v4(raw + 12).b == r.addr.b)
            fail("dns.value", "AAAA value '" + value + "' is IPv4-mapped; use an A record");
        } else if (t == "CNAME") {
          r.type = RrType::kCname;
          if (!normalize_fqdn(value, r.target))
            fail("dns.value", "CNAME target '" + value + "' is not a valid name");
          if (r.target == r.name) fail("dns.value", "CNAME points to itself");
        } else {
          fail("dns.rrtype", "rrtype '" + std::string(t) + "' is not A, AAAA or CNAME");
        }
        if (!parse_time(f[3], r.first_seen))
          fail("dns.first_seen", "'" + std::string(f[3]) + "' is not Unix seconds");
        if (!parse_time(f[4], r.last_seen))
          fail("dns.last_seen", "'" + std::string(f[4]) + "' is not Unix seconds");
        if (r.last_seen < r.first_seen) fail("dns.last_seen", "before first_seen");
        out.push_back(std::move(r));
      });
  if (!header) throw HitlistError(name, 0, "dns.version", "missing 'dns 1' header");
  return out;
}

std::vector<DnsRecord> load_dns_records(const std::string& path) {
  return parse_dns_records(read_text_file(path), path);
}

}  // namespace haystack::hitlist
