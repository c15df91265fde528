// haystack-flowtree: reads the Flowtree files haystackd persists (<state_dir>/flowtrees)
// and answers questions about one of them: JSON dump, top-k, HHH, above-t, point query,
// and heavy changers between two files; `query` runs FlowQL over a whole state directory
// (docs/flowql.md), or over a SQLite store (--db, docs/storage.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "control/flowql/error.h"
#include "control/flowql/executor.h"
#include "control/store/clickhouse_source.h"
#include "control/store/clickhouse_store.h"
#include "control/store/sqlite_store.h"
#include "dataplane/flowtree/flowtree_io.h"
#include "dataplane/flowtree/flowtree_queries.h"
#include "haystack_version.h"

using namespace haystack::flowtree;

namespace {

Flowtree load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  try {
    return deserialize(bytes);
  } catch (const FlowtreeFormatError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

Metric parse_metric(const std::string& m) {
  if (m == "packets") return Metric::kPackets;
  if (m == "bytes") return Metric::kBytes;
  if (m == "flows") return Metric::kFlows;
  throw std::runtime_error("--metric: expected packets, bytes or flows, got '" + m + "'");
}

nlohmann::json counters(const Counters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"flows", c.flows}};
}

void print_ranked(const Flowtree& t, const std::vector<Ranked>& rows, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) {
      out.push_back({{"key", t.hierarchy().to_string(r.key)}, {"value", counters(r.value)}});
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::printf("%-58s %14s %16s %12s\n", "node", "packets", "bytes", "flows");
  for (const auto& r : rows) {
    std::printf("%-58s %14lld %16lld %12lld\n", t.hierarchy().to_string(r.key).c_str(),
                (long long)r.value.packets, (long long)r.value.bytes, (long long)r.value.flows);
  }
}

// Exit codes: 0 answered, 1 unreadable tree, 2 bad query (incl. unknown site).
int run_flowql(const haystack::flowql::TreeSource& src, const std::string& text, bool json) {
  using namespace haystack::flowql;
  try {
    const Result r = run(text, src);
    std::cout << (json ? r.to_json().dump(2) + "\n" : r.to_text());
    return 0;
  } catch (const FlowQLError& e) {
    std::fprintf(stderr, "haystack-flowtree: %s\n", format_error(text, e).c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "haystack-flowtree: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"haystack-flowtree: inspect Flowtree files written by haystackd",
               "haystack-flowtree"};
  app.set_version_flag("--version", std::string("haystack-flowtree ") + HAYSTACK_VERSION);
  app.require_subcommand(1);
  bool json = false;
  std::string metric = "packets";
  app.add_flag("--json", json, "machine-readable output");
  app.add_option("--metric", metric, "ranking counter: packets, bytes or flows");

  std::string file, file2, key;
  size_t k = 10;
  double phi = 0.01;
  int64_t threshold = 0;
  std::optional<int> depth;

  auto* dump = app.add_subcommand("dump", "the whole tree as JSON");
  dump->add_option("file", file, "tree file (.ftr)")->required();
  auto* top = app.add_subcommand("top", "top-k hierarchical heavy hitters (or top-k at one level)");
  top->add_option("file", file, "tree file (.ftr)")->required();
  top->add_option("-k", k, "how many (default 10)");
  top->add_option("--depth", depth, "rank nodes of this hierarchy level (0 = most specific)");
  auto* hhh_cmd = app.add_subcommand("hhh", "hierarchical heavy hitters above phi * total");
  hhh_cmd->add_option("file", file, "tree file (.ftr)")->required();
  hhh_cmd->add_option("--phi", phi, "fraction of the total, e.g. 0.01")->required();
  auto* above = app.add_subcommand("above", "every node with popularity >= T");
  above->add_option("file", file, "tree file (.ftr)")->required();
  above->add_option("-t,--threshold", threshold, "threshold")->required();
  auto* q = app.add_subcommand("point", "estimate and bounds for one generalised flow");
  q->add_option("file", file, "tree file (.ftr)")->required();
  q->add_option("key", key, "e.g. '10.1.0.0/16|0/0' (features of the tree's set, '|'-separated)")
      ->required();
  auto* hc = app.add_subcommand("hc", "top-k heavy changers from BEFORE to AFTER");
  hc->add_option("before", file, "earlier tree file")->required();
  hc->add_option("after", file2, "later tree file")->required();
  hc->add_option("-k", k, "how many (default 10)");

  std::string state_dir, db, flowql_text, ch_url, ch_db = "haystack", ch_user = "default",
                                         ch_pwfile;
  auto* fq = app.add_subcommand(
      "query",
      "run a FlowQL query over a state directory, a SQLite store or ClickHouse (docs/flowql.md)");
  auto* state_opt =
      fq->add_option("--state", state_dir, "haystackd state_dir (trees under <dir>/flowtrees)");
  auto* db_opt = fq->add_option("--db", db, "SQLite store file (store.sqlite.path), read-only");
  auto* ch_opt =
      fq->add_option("--clickhouse", ch_url,
                     "ClickHouse HTTP URL, e.g. http://127.0.0.1:8123 (docs/clickhouse.md)");
  state_opt->excludes(db_opt);
  state_opt->excludes(ch_opt);
  db_opt->excludes(ch_opt);
  fq->add_option("--database", ch_db, "ClickHouse database (default haystack)")->needs(ch_opt);
  fq->add_option("--user", ch_user, "ClickHouse user (default 'default')")->needs(ch_opt);
  fq->add_option("--password-file", ch_pwfile, "file whose first line is the password")
      ->needs(ch_opt);
  fq->add_option("flowql", flowql_text,
                 "e.g. \"SELECT top-10 FROM 2026-11-01 00:00 TO 2026-11-02 00:00 "
                 "WHERE src_ip = ANY\"")
      ->required();
  fq->add_flag("--json", json, "machine-readable output");

  CLI11_PARSE(app, argc, argv);
  if (fq->parsed()) {
    if (state_dir.empty() && db.empty() && ch_url.empty()) {
      std::fprintf(stderr,
                   "haystack-flowtree: query needs --state DIR, --db FILE or --clickhouse URL\n");
      return 2;
    }
    if (!state_dir.empty()) {
      return run_flowql(haystack::flowql::StateDirSource(state_dir + "/flowtrees"), flowql_text,
                        json);
    }
    try {
      if (!db.empty()) {
        haystack::store::SqliteOptions o;
        o.path = db;
        o.read_only = true;
        return run_flowql(haystack::store::SqliteStore(std::move(o)), flowql_text, json);
      }
      const std::string pw =
          ch_pwfile.empty() ? "" : haystack::store::read_password_file(ch_pwfile);
      return run_flowql(haystack::store::ClickHouseSource(ch_url, ch_db, ch_user, pw, 30000),
                        flowql_text, json);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "haystack-flowtree: %s\n", e.what());
      return 1;
    }
  }
  try {
    const Metric m = parse_metric(metric);
    Flowtree t = load(file);
    if (dump->parsed()) {
      std::cout << to_json(t).dump(2) << "\n";
    } else if (top->parsed()) {
      print_ranked(t, top_k(t, k, m, depth), json);
    } else if (hhh_cmd->parsed()) {
      print_ranked(t, hhh(t, phi, m), json);
    } else if (above->parsed()) {
      print_ranked(t, above_t(t, threshold, m), json);
    } else if (q->parsed()) {
      FlowKey f;
      try {
        f = t.hierarchy().parse(key);
      } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "haystack-flowtree: key '%s': %s\n", key.c_str(), e.what());
        return 2;
      }
      QueryResult r = query(t, f);
      nlohmann::json out = {{"key", t.hierarchy().to_string(f)},
                            {"exact", r.exact},
                            {"lower", counters(r.lower)},
                            {"estimate", counters(r.estimate)},
                            {"upper", counters(r.upper)}};
      std::cout << out.dump(json ? 2 : -1) << "\n";
    } else if (hc->parsed()) {
      Flowtree after = load(file2);
      print_ranked(after, heavy_changers(t, after, k, m), json);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "haystack-flowtree: %s\n", e.what());
    return 1;
  }
  return 0;
}
