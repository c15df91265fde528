// FlowQL answers as a structured value, rendered as aligned text tables or as JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/flowql/ast.h"
#include "control/flowql/region.h"

namespace haystack::flowql {

struct Row {
  std::string key;           // node of the joined hierarchy, e.g. "10.1.0.0/16|0/0"
  flowtree::Counters value;  // pop, HHH-discounted count, or change (hc)
};

// One answer: per site (ITR) and per sub-interval (binN), else just one.
struct Answer {
  std::string site;                        // site name, "a,b" for a list, "*" for all sites merged
  int64_t from = 0, to = 0;                // asked interval (hc: the later period)
  int64_t before_from = 0, before_to = 0;  // hc: the earlier period
  size_t trees = 0;                        // stored trees merged to answer
  int64_t covered_seconds = 0;             // time those trees cover
  std::optional<RegionEstimate> estimate;  // pop
  std::vector<Row> rows;                   // every other answer type
};

struct Result {
  Query query;
  std::vector<Answer> answers;

  nlohmann::json to_json() const;
  std::string to_text() const;
};

// "2026-11-01 10:00" (seconds shown when not zero), UTC.
std::string format_time(int64_t t);

}  // namespace haystack::flowql
