// The Prometheus metrics of a running haystackd, built from the same snapshot as the
// statistics document (stats_json.h), so /metrics and --stats-out cannot disagree.
// Names: haystack_<what>[_unit]_total for counters; labels port, queue, worker, lcore,
// reason. docs/operations.md lists every family.
#pragma once

#include <vector>

#include "control/stats_json.h"
#include "telemetry/prometheus.h"

namespace haystack {

std::vector<prom::Family> metrics_from(const StatsSnapshot& s, const prom::ExporterCounters& http);

}  // namespace haystack
