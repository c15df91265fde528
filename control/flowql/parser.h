// FlowQL parser: a hand-written recursive-descent parser for the grammar in docs/flowql.md.
// It validates everything that can be checked without data (values, periods, which
// feature set answers the query) and throws FlowQLError pointing at the column.
#pragma once

#include <string_view>

#include "control/flowql/ast.h"

namespace haystack::flowql {

Query parse(std::string_view text);

}  // namespace haystack::flowql
