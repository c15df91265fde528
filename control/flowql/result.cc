#include "control/flowql/result.h"

#include <algorithm>
#include <ctime>

namespace haystack::flowql {

using flowtree::Counters;

namespace {

const char* metric_name(flowtree::Metric m) {
  return m == flowtree::Metric::kPackets ? "packets"
         : m == flowtree::Metric::kBytes ? "bytes"
                                         : "flows";
}

nlohmann::json counters(const Counters& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}, {"flows", c.flows}};
}

std::string iso_time(int64_t t) {
  const std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Columns padded to their widest cell; the first `left` columns left-aligned, the rest
// right-aligned (numbers).
std::string table(const std::vector<std::vector<std::string>>& rows, size_t left) {
  std::vector<size_t> w;
  for (const auto& r : rows) {
    w.resize(std::max(w.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const std::string pad(w[i] - r[i].size(), ' ');
      line += i == 0 ? "" : "  ";
      line += i < left ? r[i] + pad : pad + r[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string header(const Query& q) {
  std::string h = std::string(op_name(q.op));
  if (q.op == Op::kTop || q.op == Op::kHc) h += "-" + std::to_string(q.k);
  if (q.op == Op::kAbove) h += "-" + std::to_string(q.threshold);
  if (q.op == Op::kHhh) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%g", q.phi * 100);
    h += buf;
  }
  return h + " by " + metric_name(q.metric) + ", feature set " +
         std::string(flowtree::feature_set_name(q.feature_set));
}

}  // namespace

std::string format_time(int64_t t) {
  std::string s = iso_time(t);  // YYYY-MM-DDThh:mm:ssZ
  s[10] = ' ';
  return s.substr(17, 2) == "00" ? s.substr(0, 16) : s.substr(0, 19);
}

nlohmann::json Result::to_json() const {
  nlohmann::json out = {{"op", op_name(query.op)},
                        {"metric", metric_name(query.metric)},
                        {"feature_set", flowtree::feature_set_name(query.feature_set)}};
  if (query.op == Op::kTop || query.op == Op::kHc) out["k"] = query.k;
  if (query.op == Op::kAbove) out["threshold"] = query.threshold;
  if (query.op == Op::kHhh) out["phi"] = query.phi;
  if (query.bin_seconds) out["bin_seconds"] = *query.bin_seconds;
  nlohmann::json answers = nlohmann::json::array();
  for (const Answer& a : this->answers) {
    nlohmann::json j = {{"site", a.site},
                        {"from", iso_time(a.from)},
                        {"to", iso_time(a.to)},
                        {"trees", a.trees},
                        {"covered_seconds", a.covered_seconds}};
    if (query.op == Op::kHc) {
      j["before"] = {{"from", iso_time(a.before_from)}, {"to", iso_time(a.before_to)}};
      j["after"] = {{"from", iso_time(a.from)}, {"to", iso_time(a.to)}};
      j.erase("from");
      j.erase("to");
    }
    if (a.estimate) {
      j["estimate"] = counters(a.estimate->estimate);
      j["lower"] = counters(a.estimate->lower);
      j["upper"] = counters(a.estimate->upper);
      j["exact"] = a.estimate->exact();
    } else {
      nlohmann::json rows = nlohmann::json::array();
      for (const Row& r : a.rows) rows.push_back({{"key", r.key}, {"value", counters(r.value)}});
      j["rows"] = std::move(rows);
    }
    answers.push_back(std::move(j));
  }
  out["answers"] = std::move(answers);
  return out;
}

std::string Result::to_text() const {
  std::string out = header(query) + "\n";
  if (query.op == Op::kPop) {
    const std::string m = metric_name(query.metric);
    std::vector<std::vector<std::string>> rows{
        {"site", "from", "to", "trees", m + " lower", "estimate", "upper"}};
    for (const Answer& a : answers) {
      const auto v = [&](const Counters& c) {
        return std::to_string(flowtree::metric(c, query.metric));
      };
      rows.push_back({a.site, format_time(a.from), format_time(a.to), std::to_string(a.trees),
                      v(a.estimate->lower), v(a.estimate->estimate), v(a.estimate->upper)});
    }
    return out + table(rows, 3);
  }
  for (const Answer& a : answers) {
    out += "\nsite " + a.site + ", ";
    if (query.op == Op::kHc) {
      out += format_time(a.before_from) + " .. " + format_time(a.before_to) + " -> ";
    }
    out += format_time(a.from) + " .. " + format_time(a.to) + ", " + std::to_string(a.trees) +
           (a.trees == 1 ? " tree\n" : " trees\n");
    std::vector<std::vector<std::string>> rows{{"#", "node", "packets", "bytes", "flows"}};
    for (size_t i = 0; i < a.rows.size(); ++i) {
      const Row& r = a.rows[i];
      rows.push_back({std::to_string(i + 1), r.key, std::to_string(r.value.packets),
                      std::to_string(r.value.bytes), std::to_string(r.value.flows)});
    }
    out += a.rows.empty() ? "(no rows)\n" : table(rows, 2);
  }
  return out;
}

}  // namespace haystack::flowql
