#include "control/store/clickhouse_rows.h"

#include "control/alert_sink.h"

#include <algorithm>
#include <charconv>

#include "control/store/store.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "signatures/hitlist.h"

namespace haystack::store {

namespace {

struct TableDef {
  std::string_view name;
  std::string_view columns;  // "name Type, ..." in encoding order
  std::string_view engine;   // ENGINE clause
};

// Every table: partitioned by month, ordered by site and time first, so a site's time
// range is one contiguous read and old months drop by partition.
constexpr TableDef kTables[kTableCount] = {
    {"trees",
     "site String, granularity UInt32, start DateTime, feature_set String, records UInt64, "
     "nodes UInt32, packets Int64, bytes Int64, flows Int64, inserted_ns UInt64, blob String",
     "ReplacingMergeTree(inserted_ns) PARTITION BY toYYYYMM(start) "
     "ORDER BY (site, start, granularity, feature_set)"},
    {"detections",
     "site String, window String, window_start DateTime, window_end DateTime, line String, "
     "service_key String, level String, domains Array(String), domains_required UInt32, "
     "domains_total UInt32, packets UInt64, bytes UInt64, first_seen_ns UInt64, "
     "last_seen_ns UInt64, active UInt8, active_hours UInt32",
     "MergeTree PARTITION BY toYYYYMM(window_start) "
     "ORDER BY (site, window_start, window, service_key, line)"},
    {"service_counts",
     "site String, window String, window_start DateTime, window_end DateTime, "
     "service_key String, level String, lines UInt64, active_lines UInt64, window_lines UInt64",
     "MergeTree PARTITION BY toYYYYMM(window_start) "
     "ORDER BY (site, window_start, window, service_key)"},
    {"eui64",
     "site String, window String, window_start DateTime, prefixes_seen UInt64, "
     "prefixes_exposed UInt64, report String",
     "MergeTree PARTITION BY toYYYYMM(window_start) ORDER BY (site, window_start, window)"},
    {"alerts",
     "site String, time DateTime, time_ns UInt64, type String, severity String, "
     "subject String, details String",
     "MergeTree PARTITION BY toYYYYMM(time) ORDER BY (site, time, type)"},
    {"hitlist_generations",
     "site String, loaded DateTime, loaded_ns UInt64, number UInt64, path String, "
     "valid_from Date, valid_until Date, services UInt64, endpoints UInt64, trigger String",
     "MergeTree PARTITION BY toYYYYMM(loaded) ORDER BY (site, loaded, number)"},
};

// Column names only, derived once from the definitions.
std::vector<std::string> column_names() {
  std::vector<std::string> out;
  for (const TableDef& t : kTables) {
    std::string names;
    std::string_view cols = t.columns;
    while (!cols.empty()) {
      size_t comma = 0;
      int depth = 0;
      for (; comma < cols.size(); ++comma) {
        if (cols[comma] == '(') ++depth;
        if (cols[comma] == ')') --depth;
        if (cols[comma] == ',' && depth == 0) break;
      }
      std::string_view col = cols.substr(0, comma);
      while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
      names += (names.empty() ? "" : ", ") + std::string(col.substr(0, col.find(' ')));
      cols.remove_prefix(std::min(cols.size(), comma + 1));
    }
    out.push_back(std::move(names));
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

bool digits(std::string_view s, size_t pos, size_t n, unsigned& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + unsigned(s[i] - '0');
  }
  return true;
}

constexpr uint64_t kNs = 1'000'000'000ULL;

}  // namespace

std::string_view table_name(Table t) {
  return kTables[size_t(t)].name;
}

std::string_view table_columns(Table t) {
  static const std::vector<std::string> names = column_names();
  return names[size_t(t)];
}

std::vector<std::string> clickhouse_ddl(const std::string& db) {
  std::vector<std::string> out{"CREATE DATABASE IF NOT EXISTS " + db};
  for (const TableDef& t : kTables) {
    out.push_back("CREATE TABLE IF NOT EXISTS " + db + "." + std::string(t.name) + " (" +
                  std::string(t.columns) + ") ENGINE = " + std::string(t.engine));
  }
  return out;
}

void RowBinaryWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(char(uint8_t(v) | 0x80));
    v >>= 7;
  }
  out_.push_back(char(v));
}

void RowBinaryWriter::datetime(uint64_t s) {
  u32(uint32_t(std::min<uint64_t>(s, 0xffffffffu)));
}

void RowBinaryWriter::date(std::string_view t) {
  unsigned y = 0, m = 0, d = 0;
  const bool ok = t.size() == 10 && t[4] == '-' && t[7] == '-' && digits(t, 0, 4, y) &&
                  digits(t, 5, 2, m) && digits(t, 8, 2, d) && m >= 1 && m <= 12 && d >= 1 &&
                  d <= 31 && y >= 1970;
  const int64_t days = ok ? days_from_civil(y, m, d) : 0;
  u16(uint16_t(std::clamp<int64_t>(days, 0, 0xffff)));
}

void RowBinaryWriter::str(std::string_view s) {
  varint(s.size());
  out_.append(s);
}

void RowBinaryWriter::bytes(std::span<const uint8_t> b) {
  varint(b.size());
  out_.append(reinterpret_cast<const char*>(b.data()), b.size());
}

void RowBinaryWriter::strings(const std::vector<std::string>& v) {
  varint(v.size());
  for (const std::string& s : v) str(s);
}

uint64_t RowBinaryReader::le(int n) {
  if (d_.size() - pos_ < size_t(n)) throw RowBinaryError("RowBinary answer ends inside a value");
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t(uint8_t(d_[pos_ + i])) << (8 * i);
  pos_ += size_t(n);
  return v;
}

std::string RowBinaryReader::str() {
  uint64_t len = 0;
  for (int shift = 0;; shift += 7) {
    if (shift > 63) throw RowBinaryError("RowBinary string length is not a valid varint");
    const uint8_t b = u8();
    len |= uint64_t(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (d_.size() - pos_ < len) throw RowBinaryError("RowBinary answer ends inside a string");
  std::string s(d_.substr(pos_, len));
  pos_ += len;
  return s;
}

std::vector<Row> tree_rows(const std::string& site, const SiteTrees& s, uint64_t inserted_ns) {
  std::vector<Row> out;
  for (const flowtree::Flowtree& t : s.trees) {
    const std::vector<uint8_t> blob = flowtree::serialize(t);
    const flowtree::Counters total = t.total();
    RowBinaryWriter w;
    w.str(site);
    w.u32(s.seconds);
    w.datetime(s.start_ns / kNs);
    w.str(flowtree::feature_set_name(t.config().feature_set));
    w.u64(s.records);
    w.u32(t.size());
    w.i64(total.packets);
    w.i64(total.bytes);
    w.i64(total.flows);
    w.u64(inserted_ns);
    w.bytes(blob);
    out.push_back({Table::kTrees, w.take()});
  }
  return out;
}

std::vector<Row> window_rows(const std::string& site,
                             const std::vector<detection::WindowReport>& reports) {
  std::vector<Row> out;
  for (const detection::WindowReport& r : reports) {
    const std::string_view kind = detection::window_kind_name(r.kind);
    for (const detection::Detection& d : r.detections) {
      RowBinaryWriter w;
      w.str(site);
      w.str(kind);
      w.datetime(r.start_ns / kNs);
      w.datetime(r.end_ns / kNs);
      w.str(d.line);
      w.str(d.service_key);
      w.str(hitlist::level_name(d.level));
      w.strings(d.domains);
      w.u32(d.domains_required);
      w.u32(d.domains_total);
      w.u64(d.packets);
      w.u64(d.bytes);
      w.u64(d.first_seen_ns);
      w.u64(d.last_seen_ns);
      w.u8(d.active ? 1 : 0);
      w.u32(d.active_hours);
      out.push_back({Table::kDetections, w.take()});
    }
    for (const detection::ServiceLineCount& c : r.service_counts) {
      RowBinaryWriter w;
      w.str(site);
      w.str(kind);
      w.datetime(r.start_ns / kNs);
      w.datetime(r.end_ns / kNs);
      w.str(c.service_key);
      w.str(hitlist::level_name(c.level));
      w.u64(c.lines);
      w.u64(c.active_lines);
      w.u64(r.lines);
      out.push_back({Table::kServiceCounts, w.take()});
    }
  }
  return out;
}

Row eui64_row(const std::string& site, const nlohmann::ordered_json& j) {
  auto text = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto count = [&](const char* k) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer()) return uint64_t{0};
    return it->is_number_unsigned() ? it->get<uint64_t>()
                                    : uint64_t(std::max<int64_t>(0, it->get<int64_t>()));
  };
  RowBinaryWriter w;
  w.str(site);
  w.str(text("window"));
  w.datetime(parse_rfc3339_seconds(text("window_start")));
  w.u64(count("prefixes_seen"));
  w.u64(count("prefixes_exposed"));
  w.str(j.dump());
  return {Table::kEui64, w.take()};
}

Row alert_row(const std::string& site, const Alert& a) {
  RowBinaryWriter w;
  w.str(site);
  w.datetime(a.time_ns / kNs);
  w.u64(a.time_ns);
  w.str(a.type);
  w.str(severity_name(a.severity));
  w.str(a.subject);
  w.str(a.details.dump());
  return {Table::kAlerts, w.take()};
}

Row hitlist_generation_row(const std::string& site, const HitlistGenerationRow& g) {
  RowBinaryWriter w;
  w.str(site);
  w.datetime(g.loaded_ns / kNs);
  w.u64(g.loaded_ns);
  w.u64(g.number);
  w.str(g.path);
  w.date(g.valid_from);
  w.date(g.valid_until);
  w.u64(g.services);
  w.u64(g.endpoints);
  w.str(g.trigger);
  return {Table::kHitlistGenerations, w.take()};
}

std::string sql_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

uint64_t parse_rfc3339_seconds(std::string_view t) {
  return parse_time_seconds(t).value_or(0);
}

}  // namespace haystack::store
