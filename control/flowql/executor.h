// FlowQL planner and executor: picks the stored trees that tile each asked interval
// (coarsest granularity first), merges them per site or across sites, and answers with
// the Flowtree operators on the part of the merged tree the WHERE region selects.
#pragma once

#include <string_view>

#include "control/flowql/ast.h"
#include "control/flowql/result.h"
#include "control/flowql/tree_source.h"

namespace haystack::flowql {

// Upper bound on the node budget of a tree merged from several stored trees.
inline constexpr uint32_t kMaxMergedNodes = 1u << 19;  // ~100 MB at ~190 B per node
// Upper bound on the answers of one query (sites x binN sub-intervals).
inline constexpr size_t kMaxAnswers = 100000;

// Throws FlowQLError for query problems found against the data (unknown site, proto
// condition on trees without a protocol key) and std::runtime_error for unreadable trees.
Result execute(const Query& q, const TreeSource& src);

// parse + execute.
Result run(std::string_view query, const TreeSource& src);

}  // namespace haystack::flowql
