// ClickHouseSource: FlowQL's TreeSource over the `trees` table (SELECTs over the HTTP
// interface, answers in RowBinary so tree blobs arrive byte for byte). Used by
// ClickHouseStore and by `haystack-flowtree query --clickhouse`. Thread-safe (one
// connection, taken under a mutex). Every method throws std::runtime_error naming the
// server and the failure when the server cannot answer.
#pragma once

#include <mutex>
#include <string>

#include "control/flowql/tree_source.h"
#include "control/store/clickhouse_http.h"

namespace haystack::store {

class ClickHouseSource : public flowql::TreeSource {
 public:
  ClickHouseSource(std::string url, std::string database, std::string user, std::string password,
                   uint32_t timeout_ms);

  std::vector<std::string> sites() const override;
  std::vector<uint32_t> granularities(const std::string& site) const override;
  std::vector<int64_t> bins(const std::string& site, uint32_t seconds, flowtree::FeatureSet fs,
                            int64_t from, int64_t to) const override;
  flowtree::Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                          flowtree::FeatureSet fs) const override;

  // Runs a statement and returns the raw answer (throws on failure).
  std::string query(const std::string& sql) const;

 private:
  std::string db_;
  mutable std::mutex mu_;
  mutable ClickHouseHttp http_;
};

}  // namespace haystack::store
