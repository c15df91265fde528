#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "control/detection_evidence.h"
#include "control/pseudonym.h"

using namespace haystack;
namespace fs = std::filesystem;

namespace {

SipKey reference_key() {
  SipKey k{};
  for (int i = 0; i < 16; ++i) k[i] = uint8_t(i);
  return k;
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("haystack-pseudonym-" + std::to_string(::getpid()) + "-" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::remove_all(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  uint8_t x[4] = {a, b, c, d};
  return IpAddr::from_v4(x);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pseudonym)

// Reference vectors of SipHash-2-4 (Aumasson & Bernstein, vectors.h / paper appendix A):
// key 00..0f, message 00..(len-1).
BOOST_AUTO_TEST_CASE(siphash24_reference_vectors) {
  const SipKey k = reference_key();
  uint8_t msg[64];
  for (int i = 0; i < 64; ++i) msg[i] = uint8_t(i);
  BOOST_TEST(siphash24(k, msg, 0) == 0x726fdb47dd0e0e31ULL);
  BOOST_TEST(siphash24(k, msg, 1) == 0x74f839c593dc67fdULL);
  BOOST_TEST(siphash24(k, msg, 2) == 0x0d6c8009d9a94f5aULL);
  BOOST_TEST(siphash24(k, msg, 3) == 0x85676696d7fb7e2dULL);
  BOOST_TEST(siphash24(k, msg, 7) == 0xab0200f58b01d137ULL);
  BOOST_TEST(siphash24(k, msg, 8) == 0x93f5f5799a932462ULL);
  BOOST_TEST(siphash24(k, msg, 9) == 0x9e0082df0ba9e4b0ULL);
  // The paper's worked example: 15-byte message.
  BOOST_TEST(siphash24(k, msg, 15) == 0xa129ca6149be45e5ULL);
}

BOOST_AUTO_TEST_CASE(ids_are_keyed_hex_and_stable) {
  Pseudonymizer p(reference_key());
  auto line = detection::LineId::of(v4(192, 0, 2, 7), 32);
  std::string id = p.id(line.addr, line.len);
  BOOST_TEST(id.size() == 16u);
  BOOST_TEST(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(p.id(line.addr, line.len) == id);
  // Equal to SipHash over <16 address bytes, prefix length>.
  uint8_t msg[17];
  std::copy(line.addr.b.begin(), line.addr.b.end(), msg);
  msg[16] = 32;
  char want[17];
  std::snprintf(want, sizeof want, "%016llx",
                static_cast<unsigned long long>(siphash24(reference_key(), msg, 17)));
  BOOST_TEST(id == std::string(want));
  // A different key or a different line gives a different id.
  SipKey other = reference_key();
  other[0] ^= 1;
  BOOST_TEST(Pseudonymizer(other).id(line.addr, line.len) != id);
  auto line2 = detection::LineId::of(v4(192, 0, 2, 8), 32);
  BOOST_TEST(p.id(line2.addr, line2.len) != id);
}

BOOST_AUTO_TEST_CASE(disabled_gives_raw_prefix) {
  auto p = Pseudonymizer::disabled();
  BOOST_TEST(!p.enabled());
  auto l4 = detection::LineId::of(v4(192, 0, 2, 7), 32);
  BOOST_TEST(p.id(l4.addr, l4.len) == "192.0.2.7/32");
  uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x01, 0x23, 0xaa, 0xbb, 0, 0, 0, 0, 0, 1};
  auto l6 = detection::LineId::of(IpAddr::from_v6(a6), 56);
  BOOST_TEST(p.id(l6.addr, l6.len) == "2001:db8:0:100::/56");
  BOOST_TEST(l6.to_string() == "2001:db8:0:100::/56");
}

BOOST_AUTO_TEST_CASE(key_persistence_round_trip) {
  TempDir dir;
  auto p1 = Pseudonymizer::from_state_dir(dir.path / "state", true);
  const fs::path keyfile = dir.path / "state" / Pseudonymizer::kKeyFileName;
  BOOST_REQUIRE(fs::exists(keyfile));
  struct stat st {};
  BOOST_REQUIRE(::stat(keyfile.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  std::ifstream in(keyfile);
  std::string text;
  std::getline(in, text);
  BOOST_TEST(text.size() == 32u);

  auto line = detection::LineId::of(v4(198, 51, 100, 1), 32);
  auto p2 = Pseudonymizer::from_state_dir(dir.path / "state", true);  // loads, same key
  BOOST_TEST(p1.id(line.addr, line.len) == p2.id(line.addr, line.len));
  std::ifstream in2(keyfile);
  std::string text2;
  std::getline(in2, text2);
  BOOST_TEST(text2 == text);  // not regenerated

  // A fresh state directory gets a different key.
  auto p3 = Pseudonymizer::from_state_dir(dir.path / "other", true);
  BOOST_TEST(p3.id(line.addr, line.len) != p1.id(line.addr, line.len));

  // Disabled touches nothing.
  auto p4 = Pseudonymizer::from_state_dir(dir.path / "none", false);
  BOOST_TEST(!fs::exists(dir.path / "none"));
  BOOST_TEST(p4.id(line.addr, line.len) == "198.51.100.1/32");
}

BOOST_AUTO_TEST_CASE(bad_key_files_are_rejected) {
  TempDir dir;
  fs::create_directories(dir.path);
  const fs::path f = dir.path / Pseudonymizer::kKeyFileName;
  {
    std::ofstream out(f);
    out << "not-a-key\n";
  }
  fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
  BOOST_CHECK_THROW(Pseudonymizer::from_state_dir(dir.path, true), std::runtime_error);
  {
    std::ofstream out(f, std::ios::trunc);
    out << "000102030405060708090a0b0c0d0e0f\n";
  }
  BOOST_CHECK_NO_THROW(Pseudonymizer::from_state_dir(dir.path, true));
  BOOST_TEST(Pseudonymizer::load_or_create_key(f) == reference_key());
  fs::permissions(f, fs::perms::group_read, fs::perm_options::add);
  BOOST_CHECK_THROW(Pseudonymizer::from_state_dir(dir.path, true), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
