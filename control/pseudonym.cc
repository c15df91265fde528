#include "control/pseudonym.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace haystack {
namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void sipround(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
  v0 += v1;
  v1 = rotl(v1, 13);
  v1 ^= v0;
  v0 = rotl(v0, 32);
  v2 += v3;
  v3 = rotl(v3, 16);
  v3 ^= v2;
  v0 += v3;
  v3 = rotl(v3, 21);
  v3 ^= v0;
  v2 += v1;
  v1 = rotl(v1, 17);
  v1 ^= v2;
  v2 = rotl(v2, 32);
}

std::string errno_text() { return std::strerror(errno); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string key_hex(const SipKey& k) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : k) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

SipKey read_key(const std::filesystem::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw std::runtime_error(file.string() + ": " + errno_text());
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(file.string() + ": not a regular file");
  if (st.st_mode & 077)
    throw std::runtime_error(file.string() +
                             ": pseudonym key is readable by group/others (chmod 600 it)");
  std::ifstream in(file);
  std::string text;
  if (!in || !std::getline(in, text))
    throw std::runtime_error(file.string() + ": cannot read pseudonym key");
  std::string rest;
  while (std::getline(in, rest))
    if (!rest.empty()) throw std::runtime_error(file.string() + ": trailing data after key");
  if (text.size() != 32)
    throw std::runtime_error(file.string() + ": pseudonym key must be 32 hex digits");
  SipKey k{};
  for (size_t i = 0; i < 16; ++i) {
    int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      throw std::runtime_error(file.string() + ": pseudonym key must be 32 hex digits");
    k[i] = uint8_t(hi << 4 | lo);
  }
  return k;
}

SipKey random_key() {
  SipKey k{};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("/dev/urandom: " + errno_text());
  size_t got = 0;
  while (got < k.size()) {
    ssize_t n = ::read(fd, k.data() + got, k.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("/dev/urandom: short read");
    }
    got += size_t(n);
  }
  ::close(fd);
  return k;
}

}  // namespace

uint64_t siphash24(const SipKey& key, const void* data, size_t len) {
  const uint64_t k0 = load_le64(key.data());
  const uint64_t k1 = load_le64(key.data() + 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
  uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
  uint64_t v3 = 0x7465646279746573ULL ^ k1;
  const auto* p = static_cast<const uint8_t*>(data);
  const size_t full = len - len % 8;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = load_le64(p + i);
    v3 ^= m;
    sipround(v0, v1, v2, v3);
    sipround(v0, v1, v2, v3);
    v0 ^= m;
  }
  uint64_t b = uint64_t(len & 0xff) << 56;
  for (size_t i = 0; i < len % 8; ++i) b |= uint64_t(p[full + i]) << (8 * i);
  v3 ^= b;
  sipround(v0, v1, v2, v3);
  sipround(v0, v1, v2, v3);
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) sipround(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

std::string prefix_string(const IpAddr& addr, uint8_t len) {
  char buf[INET6_ADDRSTRLEN] = {};
  const char* r = addr.v4 ? inet_ntop(AF_INET, addr.b.data() + 12, buf, sizeof buf)
                          : inet_ntop(AF_INET6, addr.b.data(), buf, sizeof buf);
  std::string s = r ? r : "?";
  return s + "/" + std::to_string(unsigned(len));
}

SipKey Pseudonymizer::load_or_create_key(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) return read_key(file);

  // Create atomically: write a private temp file, then link() it to the final name, which
  // fails if another process created the key meanwhile (then that key wins).
  SipKey k = random_key();
  std::string tmp = file.string() + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(tmp + ": " + errno_text());
  std::string text = key_hex(k) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  std::string err = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    throw std::runtime_error(tmp + ": " + err);
  }
  int rc = ::link(tmp.c_str(), file.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (rc != 0) {
    if (link_errno == EEXIST) return read_key(file);
    throw std::runtime_error(file.string() + ": " + std::strerror(link_errno));
  }
  return k;
}

Pseudonymizer Pseudonymizer::from_state_dir(const std::filesystem::path& state_dir,
                                            bool enabled) {
  if (!enabled) return disabled();
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) throw std::runtime_error(state_dir.string() + ": " + ec.message());
  return Pseudonymizer(load_or_create_key(state_dir / kKeyFileName));
}

std::string Pseudonymizer::id(const IpAddr& addr, uint8_t len) const {
  if (!enabled_) return prefix_string(addr, len);
  uint8_t msg[17];
  std::memcpy(msg, addr.b.data(), 16);
  msg[16] = len;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(siphash24(key_, msg, sizeof msg)));
  return buf;
}

std::string Pseudonymizer::mac_id(uint64_t mac48) const {
  uint8_t m[10] = {'m', 'a', 'c', ':'};
  for (int i = 0; i < 6; ++i) m[4 + i] = uint8_t(mac48 >> (8 * (5 - i)));
  char buf[18];
  if (!enabled_) {
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[4], m[5], m[6], m[7], m[8], m[9]);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(siphash24(key_, m, sizeof m)));
  return buf;
}

}  // namespace haystack
