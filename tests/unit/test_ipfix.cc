// IPFIX encoding (RFC 7011): exact bytes of a header, template sets, data records,
// padding, MTU splitting and sequence numbers, plus a round trip through a small decoder.
#include <boost/test/unit_test.hpp>

#include <map>
#include <vector>

#include "control/config.h"
#include "control/ipfix/message.h"
#include "control/ipfix/records.h"

using namespace haystack;
using namespace haystack::ipfix;
using Bytes = std::vector<uint8_t>;

namespace {

uint16_t rd16(const Bytes& b, size_t at) {
  return uint16_t(b[at] << 8 | b[at + 1]);
}
uint32_t rd32(const Bytes& b, size_t at) {
  return uint32_t(rd16(b, at)) << 16 | rd16(b, at + 2);
}
uint64_t rd64(const Bytes& b, size_t at) {
  return uint64_t(rd32(b, at)) << 32 | rd32(b, at + 4);
}

// A minimal collector-side decoder: checks framing, learns templates, splits data
// records by the template's field lengths (variable-length fields included).
struct Decoded {
  std::map<uint16_t, Template> templates;
  std::vector<std::pair<uint16_t, Bytes>> records;  // (template id, record bytes)
};

void decode(const Bytes& m, Decoded& out) {
  BOOST_REQUIRE(m.size() >= 16);
  BOOST_REQUIRE_EQUAL(rd16(m, 0), 10);
  BOOST_REQUIRE_EQUAL(rd16(m, 2), m.size());
  for (size_t off = 16; off < m.size();) {
    const uint16_t set_id = rd16(m, off), len = rd16(m, off + 2);
    BOOST_REQUIRE(len >= 4 && off + len <= m.size());
    BOOST_REQUIRE_EQUAL(len % 4, 0);  // we always pad
    const size_t end = off + len;
    size_t p = off + 4;
    if (set_id == 2 || set_id == 3) {
      while (end - p >= 4) {
        Template t;
        t.id = rd16(m, p);
        const uint16_t n = rd16(m, p + 2);
        p += 4;
        if (set_id == 3) t.scope_fields = rd16(m, p), p += 2;
        for (uint16_t i = 0; i < n; ++i) {
          Field f{uint16_t(rd16(m, p) & 0x7fff), rd16(m, p + 2), 0};
          const bool ent = rd16(m, p) & 0x8000;
          p += 4;
          if (ent) f.pen = rd32(m, p), p += 4;
          t.fields.push_back(f);
        }
        out.templates[t.id] = t;
      }
    } else {
      const Template& t = out.templates.at(set_id);
      size_t min = 0;
      for (const Field& f : t.fields) min += f.length == kVariableLength ? 1 : f.length;
      while (end - p >= min) {
        const size_t start = p;
        for (const Field& f : t.fields) {
          if (f.length != kVariableLength) {
            p += f.length;
          } else {
            size_t l = m[p++];
            if (l == 255) l = rd16(m, p), p += 2;
            p += l;
          }
        }
        BOOST_REQUIRE(p <= end);
        out.records.emplace_back(set_id, Bytes(m.begin() + long(start), m.begin() + long(p)));
      }
    }
    for (; p < end; ++p) BOOST_TEST(m[p] == 0);  // padding is zero
    off = end;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ipfix)

BOOST_AUTO_TEST_CASE(header_and_template_set_bytes) {
  MessageBuilder mb(0x01020304, 1472);
  mb.set_export_time(1700000000);  // 0x6553f100
  Template t;
  t.id = 256;
  t.fields = {{ie::sourceIPv4Prefix, 4},
              {ie::sourceIPv4PrefixLength, 1},
              {ie::hsFeatureSet, 1, kHaystackPen}};
  mb.add_template(t);
  const auto msgs = mb.take();
  BOOST_REQUIRE_EQUAL(msgs.size(), 1u);
  const Bytes expect = {
      0x00, 0x0a, 0x00, 0x28,  // version 10, length 40
      0x65, 0x53, 0xf1, 0x00,  // export time
      0x00, 0x00, 0x00, 0x00,  // sequence 0
      0x01, 0x02, 0x03, 0x04,  // observation domain
      0x00, 0x02, 0x00, 0x18,  // template set, length 24 (field specs keep it aligned)
      0x01, 0x00, 0x00, 0x03,  // template 256, 3 fields
      0x00, 0x2c, 0x00, 0x04,  // sourceIPv4Prefix(44), 4
      0x00, 0x09, 0x00, 0x01,  // sourceIPv4PrefixLength(9), 1
      0x80, 0x01, 0x00, 0x01,  // enterprise bit | 1, length 1
      0x00, 0x00, 0x7e, 0xd9,  // PEN 32473
  };
  BOOST_TEST(msgs[0].bytes == expect, boost::test_tools::per_element());
  BOOST_TEST(msgs[0].data_records == 0u);
}

BOOST_AUTO_TEST_CASE(options_template_bytes) {
  const Bytes expect = {0x01, 0x91, 0x00, 0x06, 0x00, 0x01,  // id 401, 6 fields, 1 scope
                        0x01, 0x2e, 0x00, 0x08,              // selectorId(302) 8
                        0x01, 0x30, 0x00, 0x02,              // selectorAlgorithm(304) 2
                        0x01, 0x31, 0x00, 0x04,              // samplingPacketInterval(305) 4
                        0x01, 0x32, 0x00, 0x04,              // samplingPacketSpace(306) 4
                        0x00, 0x22, 0x00, 0x04,              // samplingInterval(34) 4
                        0x00, 0x23, 0x00, 0x01};             // samplingAlgorithm(35) 1
  BOOST_TEST(sampling_template().encode() == expect, boost::test_tools::per_element());
  // In a message: 4 + 30 = 34 bytes of set, padded with two zero bytes to 36.
  MessageBuilder mb(1, 1472);
  mb.add_template(sampling_template());
  const Bytes m = mb.take()[0].bytes;
  BOOST_TEST(m.size() == 16u + 36u);
  BOOST_TEST(rd16(m, 16) == 3);
  BOOST_TEST(rd16(m, 18) == 36);
  BOOST_TEST((m[50] == 0 && m[51] == 0));
  SamplingConfig s;
  s.method = SampleMethod::kCount;
  s.flow_rate = 100;
  s.iot_rate = 1;
  const auto recs = sampling_records(s);
  BOOST_REQUIRE_EQUAL(recs.size(), 2u);
  Bytes b;
  encode_sampling(recs[0], b);
  const Bytes rec = {0,    0,    0, 0,   0, 0, 0, 1,   // selector 1 (Flowtree)
                     0x00, 0x01,                       // systematic count-based
                     0,    0,    0, 1,   0, 0, 0, 99,  // 1 selected, 99 skipped
                     0,    0,    0, 100,               // legacy interval
                     1};                               // deterministic
  BOOST_TEST(b == rec, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(flow_record_bytes) {
  flowtree::Hierarchy h(flowtree::FeatureSet::SISP);
  flowtree::Flowtree t(flowtree::FlowtreeConfig{flowtree::FeatureSet::SISP, false, 64});
  const flowtree::FlowKey k = h.parse("10.1.2.0/24|80/8");
  t.add_node(k, {3, 1500, 2});
  std::vector<NodeRecord> nodes;
  append_nodes(t, nodes);  // the root has nothing of its own: one record
  BOOST_REQUIRE_EQUAL(nodes.size(), 1u);
  BOOST_TEST(nodes[0].shape == (kSrcV4 | kSrcPort));
  TreeBatch b{1700000000, 1700000060, {}};
  Bytes r;
  encode_node(b, nodes[0], r);
  const Bytes expect = {0x65, 0x53, 0xf1, 0x00,                          // flowStartSeconds
                        0x65, 0x53, 0xf1, 0x3c,                          // flowEndSeconds
                        0,    0,    0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,  // flowStartMilliseconds
                        0,    0,    0x01, 0x8b, 0xcf, 0xe6, 0x52, 0x60,  // flowEndMilliseconds
                        6,                                               // feature set SISP
                        10,   1,    2,    0,    24,                      // sourceIPv4Prefix, length
                        0x00, 0x00, 8,                                   // port 80/8 -> 0/8
                        0,    0,    0,    0,    0,    0,    0,    3,     // packets
                        0,    0,    0,    0,    0,    0,    0x05, 0xdc,  // bytes
                        0,    0,    0,    0,    0,    0,    0,    2};    // flows
  BOOST_TEST(r == expect, boost::test_tools::per_element());
  const Template ft = flow_template(nodes[0].shape);
  BOOST_TEST(ft.id == 256 + 17);
  size_t len = 0;
  for (const Field& f : ft.fields) len += f.length;
  BOOST_TEST(len == r.size());
}

// An EUI-64 window report as Eui64Pipeline writes it becomes one window record and one
// record per (prefix, MAC), with the manufacturer's IoT-only flag.
BOOST_AUTO_TEST_CASE(eui64_window_records) {
  const auto report = nlohmann::ordered_json::parse(R"({
    "window": "hour", "window_start": "2023-11-14T22:00:00.000000000Z",
    "prefixes_seen": 7, "prefixes_exposed": 2, "exposed_share": 0.2857,
    "manufacturers": [{"manufacturer": "Espressif Inc.", "prefixes": 1, "macs": 1, "iot_only": true},
                      {"manufacturer": "HP", "prefixes": 1, "macs": 2, "iot_only": false}],
    "prefixes": [{"prefix": "p1", "macs": [{"mac": "m1", "manufacturer": "Espressif Inc."}]},
                 {"prefix": "p2", "macs": [{"mac": "m2", "manufacturer": "HP"},
                                           {"mac": "m3", "manufacturer": "HP"}]}]})");
  const EuiBatch b = eui_records(report);
  BOOST_TEST(b.window.start_s == 1700000000u - 1700000000u % 3600);
  BOOST_TEST(b.window.end_s == b.window.start_s + 3600);
  BOOST_REQUIRE_EQUAL(b.exposures.size(), 3u);
  BOOST_TEST(b.exposures[0].iot_only);
  BOOST_TEST(!b.exposures[2].iot_only);
  BOOST_TEST(b.exposures[2].prefix == "p2");
  BOOST_TEST(b.exposures[2].mac == "m3");
  Bytes w, x;
  encode_eui_window(b.window, w);
  const Bytes want_w = {0x65, 0x53, 0xed, 0xe0,  // 2023-11-14T22:00:00Z
                        0x65, 0x53, 0xfb, 0xf0,  // + 3600
                        0,                       // hour
                        0, 0, 0, 7,              // prefixes seen
                        0, 0, 0, 2};             // exposed
  BOOST_TEST(w == want_w, boost::test_tools::per_element());
  encode_eui_exposure(b.exposures[0], x);
  const Bytes want_x = {0x65, 0x53, 0xed, 0xe0, 0x65, 0x53, 0xfb, 0xf0, 0,
                        2,    'p',  '1',  2,    'm',  '1',  14,   'E',  's',
                        'p',  'r',  'e',  's',  's',  'i',  'f',  ' ',  'I',
                        'n',  'c',  '.',  1};
  BOOST_TEST(x == want_x, boost::test_tools::per_element());
  // Both templates frame these records exactly (decoded by field lengths).
  MessageBuilder mb(1, 1500);
  mb.add_template(eui_window_template());
  mb.add_template(eui_exposure_template());
  mb.add_record(kEuiWindowTemplateId, w);
  mb.add_record(kEuiExposureTemplateId, x);
  Decoded d;
  for (const Message& m : mb.take()) decode(m.bytes, d);
  BOOST_REQUIRE_EQUAL(d.records.size(), 2u);
  BOOST_TEST(d.records[0].second == w, boost::test_tools::per_element());
  BOOST_TEST(d.records[1].second == x, boost::test_tools::per_element());
  // A report without its fields is an error, not a silent empty record.
  BOOST_CHECK_THROW(eui_records(nlohmann::ordered_json::parse(R"({"window": "hour"})")),
                    std::exception);
}

BOOST_AUTO_TEST_CASE(ipv6_and_any_shapes) {
  flowtree::Hierarchy h(flowtree::FeatureSet::SIDI);
  const std::vector<uint8_t> want = {0, 1, 2, 4, 5, 6, 8, 9, 10};
  BOOST_TEST(shapes_of(h) == want, boost::test_tools::per_element());
  flowtree::Flowtree t(flowtree::FlowtreeConfig{flowtree::FeatureSet::SIDI, false, 64});
  t.add_node(h.parse("2001:db8::/32|10.0.0.0/8"), {1, 100, 1});  // depth 24 both
  std::vector<NodeRecord> nodes;
  append_nodes(t, nodes);
  BOOST_REQUIRE_EQUAL(nodes.size(), 1u);
  BOOST_TEST(nodes[0].shape == (kSrcV6 | kDstV4));
  BOOST_TEST(nodes[0].src_len == 32);
  BOOST_TEST(nodes[0].dst_len == 8);
  BOOST_TEST(nodes[0].src[0] == 0x20);
  BOOST_TEST(nodes[0].src[1] == 0x01);
  BOOST_TEST(nodes[0].dst[0] == 10);
}

BOOST_AUTO_TEST_CASE(padding_and_sequence_numbers) {
  MessageBuilder mb(7, 1472);
  const Bytes rec5 = {1, 2, 3, 4, 5};
  mb.add_record(300, rec5);
  mb.add_record(300, rec5);  // set: 4 + 10 -> padded to 16
  auto m = mb.take();
  BOOST_REQUIRE_EQUAL(m.size(), 1u);
  const Bytes set = {0x01, 0x2c, 0x00, 0x10, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 0, 0};
  BOOST_TEST(Bytes(m[0].bytes.begin() + 16, m[0].bytes.end()) == set,
             boost::test_tools::per_element());
  BOOST_TEST(rd32(m[0].bytes, 8) == 0u);
  BOOST_TEST(m[0].data_records == 2u);
  mb.add_record(300, rec5);
  m = mb.take();
  BOOST_TEST(rd32(m[0].bytes, 8) == 2u);  // records before this message
  BOOST_TEST(rd16(m[0].bytes, 2) == 16 + 12);
  mb.reset_sequence();
  mb.add_record(300, rec5);
  BOOST_TEST(rd32(mb.take()[0].bytes, 8) == 0u);
}

BOOST_AUTO_TEST_CASE(mtu_splitting) {
  // 1500-byte MTU over IPv4/UDP: 1472 bytes per message. 41-byte records: 16 header +
  // 4 set header + 35 records = 1455 (+1 padding = 1456) per message.
  MessageBuilder mb(1, 1500 - 28);
  Template t = flow_template(kSrcV4);
  mb.add_template(t);
  Bytes rec(41, 0xab);
  for (int i = 0; i < 100; ++i) mb.add_record(t.id, rec);
  const auto msgs = mb.take();
  std::vector<size_t> sizes, counts;
  for (const auto& m : msgs) {
    sizes.push_back(m.bytes.size());
    counts.push_back(m.data_records);
    BOOST_TEST(m.bytes.size() <= 1472u);
  }
  // First message: template set (4 + 4 + 9 fields*4 + 2 enterprise PEN*... ) then records.
  const size_t tmpl = 4 + t.encode().size();
  const size_t first = (1472 - 16 - tmpl - 4) / 41;
  BOOST_TEST(counts[0] == first);
  BOOST_TEST(counts[1] == 35u);
  BOOST_TEST(sizes[1] == 1456u);
  size_t total = 0;
  uint32_t seq = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    BOOST_TEST(rd32(msgs[i].bytes, 8) == seq);
    seq += uint32_t(counts[i]);
    total += counts[i];
  }
  BOOST_TEST(total == 100u);
  BOOST_CHECK_THROW(mb.add_record(t.id, Bytes(1500, 0)), std::length_error);
}

BOOST_AUTO_TEST_CASE(round_trip_through_decoder) {
  MessageBuilder mb(42, 576 - 28);
  for (uint8_t s : shapes_of(flowtree::Hierarchy(flowtree::FeatureSet::FULL, true)))
    mb.add_template(flow_template(s));
  mb.add_template(detection_template());
  mb.add_template(sampling_template());
  // Records of a real tree: totals survive the round trip.
  flowtree::FlowtreeConfig fc{flowtree::FeatureSet::FULL, true, 256};
  fc.p = 1.0;
  flowtree::Flowtree t(fc);
  const flowtree::Hierarchy& h = t.hierarchy();
  for (uint32_t i = 0; i < 500; ++i) {
    uint8_t s4[4] = {10, uint8_t(i % 7), uint8_t(i % 13), uint8_t(i)},
            d4[4] = {192, 0, 2, uint8_t(i % 5)};
    t.add(h.leaf(IpAddr::from_v4(s4), IpAddr::from_v4(d4), uint16_t(1000 + i), 443, 6),
          {1, 100 + i, i % 3 == 0});
  }
  t.compress();
  TreeBatch b{100, 160, {}};
  append_nodes(t, b.nodes);
  Bytes r;
  for (const NodeRecord& n : b.nodes) {
    r.clear();
    encode_node(b, n, r);
    mb.add_record(uint16_t(kFlowTemplateBase + n.shape), r);
  }
  DetectionRecord d;
  d.line = std::string(300, 'x');  // long string: 3-byte length prefix
  d.service = "amazon-echo";
  d.packets = 9;
  r.clear();
  encode_detection(d, r);
  mb.add_record(kDetectionTemplateId, r);
  Decoded out;
  for (const auto& m : mb.take()) {
    BOOST_TEST(m.bytes.size() <= 548u);
    decode(m.bytes, out);
  }
  BOOST_REQUIRE_EQUAL(out.records.size(), b.nodes.size() + 1);
  uint64_t packets = 0, bytes = 0, flows = 0;
  for (const auto& [tid, rec] : out.records) {
    if (tid == kDetectionTemplateId) {
      BOOST_TEST(rec.size() == 4 + 4 + 1 + 3 + 300 + 1 + 11 + 1 + 16 + 1 + 8 + 8);
      BOOST_TEST(rd64(rec, rec.size() - 16) == 9u);
      continue;
    }
    packets += rd64(rec, rec.size() - 24);
    bytes += rd64(rec, rec.size() - 16);
    flows += rd64(rec, rec.size() - 8);
  }
  BOOST_TEST(int64_t(packets) == t.total().packets);
  BOOST_TEST(int64_t(bytes) == t.total().bytes);
  BOOST_TEST(int64_t(flows) == t.total().flows);
  BOOST_TEST(packets == 500u);
}

BOOST_AUTO_TEST_CASE(config_section) {
  const std::string base =
      "site_id: fra-edge-01\nmode: ixp\nports:\n  - name: p0\n    device: net_ring0\n";
  Config c = parse_config(base, "t.yaml");
  BOOST_TEST(!c.ipfix.enabled);
  BOOST_TEST(c.ipfix.granularities == std::vector<uint32_t>{60}, boost::test_tools::per_element());
  BOOST_TEST(c.ipfix.feature_sets.size() == 11u);
  BOOST_TEST(c.ipfix.observation_domain == observation_domain_for("fra-edge-01"));
  c = parse_config(base +
                       "ipfix:\n  enabled: true\n  collector: '[::1]:4740'\n  transport: tcp\n"
                       "  observation_domain: 17\n  feature_sets: [SI, DP]\n"
                       "  granularities: [60, 900]\n",
                   "t.yaml");
  BOOST_TEST(c.ipfix.host == "::1");
  BOOST_TEST(c.ipfix.port == 4740);
  BOOST_TEST(c.ipfix.tcp);
  BOOST_TEST(c.ipfix.observation_domain == 17u);
  BOOST_TEST(c.ipfix.feature_sets.size() == 2u);
  try {
    parse_config(base + "ipfix:\n  granularities: [120]\n", "t.yaml");
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.line() == 7);
    BOOST_TEST(e.key() == "ipfix.granularities[0]");
  }
  try {
    parse_config(base + "ipfix:\n  collector: nowhere\n", "t.yaml");
    BOOST_ERROR("no error");
  } catch (const ConfigError& e) {
    BOOST_TEST(e.line() == 7);
    BOOST_TEST(e.key() == "ipfix.collector");
  }
  BOOST_CHECK_THROW(parse_config(base + "ipfix:\n  mtu: 100\n", "t.yaml"), ConfigError);
}

BOOST_AUTO_TEST_SUITE_END()
