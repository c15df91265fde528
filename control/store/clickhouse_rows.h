// ClickHouse rows: the tables ClickHouseStore writes (DDL), the RowBinary encoding of
// each row, and the RowBinary reader for SELECT answers. Pure: no I/O, no threads.
//
// RowBinary (both directions): integers little-endian, DateTime a UInt32 of Unix seconds,
// Date a UInt16 of days since 1970-01-01, String a LEB128 length then the bytes, Array a
// LEB128 count then the elements. Binary tree blobs travel as they are: no text escaping.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/alert_sink.h"
#include "control/detection.h"
#include "control/flow_summaries.h"

namespace haystack::store {

struct HitlistGenerationRow;

enum class Table : uint8_t {
  kTrees = 0,
  kDetections,
  kServiceCounts,
  kEui64,
  kAlerts,
  kHitlistGenerations,
};
inline constexpr size_t kTableCount = 6;

std::string_view table_name(Table t);
// "col1, col2, ..." in the order the encoders write them (for INSERT INTO t (cols)).
std::string_view table_columns(Table t);
// CREATE DATABASE / CREATE TABLE IF NOT EXISTS statements, in order.
std::vector<std::string> clickhouse_ddl(const std::string& database);

// One encoded row, ready to be appended to an INSERT ... FORMAT RowBinary body.
struct Row {
  Table table = Table::kTrees;
  std::string bytes;
};

class RowBinaryWriter {
 public:
  void u8(uint8_t v) { out_.push_back(char(v)); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void i64(int64_t v) { le(uint64_t(v), 8); }
  void datetime(uint64_t unix_seconds);    // clamped to [0, 2^32-1]
  void date(std::string_view yyyy_mm_dd);  // invalid or empty text: 1970-01-01
  void str(std::string_view s);
  void bytes(std::span<const uint8_t> b);
  void strings(const std::vector<std::string>& v);
  std::string take() { return std::move(out_); }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(char((v >> (8 * i)) & 0xff));
  }
  void varint(uint64_t v);
  std::string out_;
};

struct RowBinaryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Reads a RowBinary answer; throws RowBinaryError when it ends early.
class RowBinaryReader {
 public:
  explicit RowBinaryReader(std::string_view data) : d_(data) {}
  bool done() const { return pos_ == d_.size(); }
  uint8_t u8() { return uint8_t(le(1)); }
  uint32_t u32() { return uint32_t(le(4)); }
  uint64_t u64() { return le(8); }
  int64_t i64() { return int64_t(le(8)); }
  std::string str();

 private:
  uint64_t le(int n);
  std::string_view d_;
  size_t pos_ = 0;
};

// Rows of each kind. `inserted_ns` is the writer's wall clock: the trees table keeps
// the newest version of a (site, granularity, start, feature set) tree.
std::vector<Row> tree_rows(const std::string& site, const SiteTrees& s, uint64_t inserted_ns);
std::vector<Row> window_rows(const std::string& site,
                             const std::vector<detection::WindowReport>& reports);
Row eui64_row(const std::string& site, const nlohmann::ordered_json& report);
Row alert_row(const std::string& site, const Alert& a);
Row hitlist_generation_row(const std::string& site, const HitlistGenerationRow& g);

// 'text' with \ and ' escaped, for string literals in SELECTs.
std::string sql_quote(std::string_view text);
// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (format_time_ns output);
// 0 when the text is not of that form.
uint64_t parse_rfc3339_seconds(std::string_view text);

}  // namespace haystack::store
