// Public suffix list: the PSL project's checkPublicSuffix vectors (shipped by the Debian
// `publicsuffix` package next to the list they were written for; CC0, see the file's
// header), the rule kinds on a hand-written list, punycode, and parse errors.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <regex>
#include <string>

#include "signatures/hitlist_loader.h"
#include "signatures/psl.h"

using namespace haystack::hitlist;

namespace {

std::string reg(const PublicSuffixList& psl, const std::string& utf8) {
  std::string ascii;
  BOOST_REQUIRE(to_ascii_name(utf8, ascii));
  return psl.registrable_domain(ascii).value_or("null");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(psl)

BOOST_AUTO_TEST_CASE(official_check_public_suffix_vectors) {
  const auto psl = PublicSuffixList::load(kDefaultPslPath);
  std::ifstream f("/usr/share/doc/publicsuffix/examples/test_psl.txt");
  BOOST_REQUIRE(f);
  // checkPublicSuffix('input', 'expected' | null); commented-out vectors start with "//".
  const std::regex vec(R"(^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);)");
  std::string line;
  int checked = 0, null_input = 0;
  while (std::getline(f, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, vec)) continue;
    if (m[1] == "null") {  // the null input has no counterpart in a string API
      ++null_input;
      continue;
    }
    const std::string in = m[1].str().substr(1, m[1].length() - 2);
    std::string want = "null";
    if (m[2] != "null") BOOST_REQUIRE(to_ascii_name(m[2].str().substr(1, m[2].length() - 2), want));
    BOOST_TEST(reg(psl, in) == want, "checkPublicSuffix('" << in << "')");
    ++checked;
  }
  BOOST_TEST(null_input == 1);
  BOOST_TEST(checked == 77);
}

BOOST_AUTO_TEST_CASE(rule_kinds_and_sections) {
  const std::string text =
      "// ===BEGIN ICANN DOMAINS===\n"
      "com\n"
      "uk\n"
      "co.uk\n"
      "*.ck\n"
      "!www.ck\n"
      "公司.cn\n"
      "cn\n"
      "// ===END ICANN DOMAINS===\n"
      "// ===BEGIN PRIVATE DOMAINS===\n"
      "cloudfront.net\n";
  const auto all = PublicSuffixList::parse(text, "t.dat");
  BOOST_TEST(all.rule_count() == 8u);
  BOOST_TEST(reg(all, "a.b.vendor.co.uk") == "vendor.co.uk");  // longest normal rule
  BOOST_TEST(reg(all, "co.uk") == "null");                     // a public suffix itself
  BOOST_TEST(reg(all, "x.y.ck") == "x.y.ck");                  // wildcard: y.ck is a suffix
  BOOST_TEST(reg(all, "y.ck") == "null");
  BOOST_TEST(reg(all, "www.ck") == "www.ck");  // exception: suffix is ck
  BOOST_TEST(reg(all, "a.www.ck") == "www.ck");
  BOOST_TEST(reg(all, "shop.example") == "shop.example");  // default rule "*"
  BOOST_TEST(reg(all, "www.食狮.公司.cn") == "xn--85x722f.xn--55qx5d.cn");
  BOOST_TEST(reg(all, "d1.cloudfront.net") == "d1.cloudfront.net");
  const auto icann = PublicSuffixList::parse(text, "t.dat", /*icann_only=*/true);
  BOOST_TEST(icann.rule_count() == 7u);
  BOOST_TEST(reg(icann, "d1.cloudfront.net") == "cloudfront.net");
  BOOST_TEST(reg(icann, "a..b.com") == "null");  // empty label
}

BOOST_AUTO_TEST_CASE(punycode_rfc3492) {
  std::string out;
  BOOST_TEST(to_ascii_name("bücher.de", out));
  BOOST_TEST(out == "xn--bcher-kva.de");
  BOOST_TEST(to_ascii_name("食狮.中国", out));
  BOOST_TEST(out == "xn--85x722f.xn--fiqs8s");
  BOOST_TEST(to_ascii_name("WwW.Example.COM", out));
  BOOST_TEST(out == "www.example.com");
  BOOST_TEST(!to_ascii_name("bad\xff.com", out));
}

BOOST_AUTO_TEST_CASE(parse_errors_name_file_and_line) {
  try {
    PublicSuffixList::parse("com\n// c\nbad\xc3.com\n", "t.dat");
    BOOST_FAIL("no error");
  } catch (const HitlistError& e) {
    BOOST_TEST(std::string(e.what()) == "t.dat:3: psl.rule: invalid rule 'bad\xc3.com'");
  }
  try {
    PublicSuffixList::load("/nonexistent/psl.dat");
    BOOST_FAIL("no error");
  } catch (const HitlistError& e) {
    BOOST_TEST(e.field() == "file");
  }
}

BOOST_AUTO_TEST_SUITE_END()
