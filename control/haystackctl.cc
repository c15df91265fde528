// haystackctl: the operator's CLI for a running haystackd, over its control socket
// (JSON lines, docs/control-protocol.md). Prints aligned tables, or with --json the
// result as JSON. Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
// 3 cannot connect (or no answer within --timeout).
#include <CLI/CLI.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "haystack_version.h"

namespace {

using json = nlohmann::ordered_json;

constexpr int kOk = 0, kDaemonError = 1, kUsage = 2, kNoConnection = 3;
constexpr const char* kDefaultSocket = "/var/lib/haystack/haystackd.sock";

struct Failure {
  int code;
  std::string message;
};

class Connection {
 public:
  Connection(const std::string& path, double timeout_s) : timeout_ms_(int(timeout_s * 1000)) {
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
      throw Failure{kUsage, "--socket: path longer than 107 bytes"};
    }
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw Failure{kNoConnection, "cannot connect to " + path + ": " + std::strerror(errno) +
                                       " (is haystackd running? --socket or HAYSTACK_SOCKET "
                                       "name another socket)"};
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const std::string& line) {
    std::string out = line + "\n";
    for (size_t off = 0; off < out.size();) {
      ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw Failure{kNoConnection, std::string("send: ") + std::strerror(errno)};
      off += size_t(n);
    }
  }

  // The next line; nullopt at end of file. timeout < 0 waits forever.
  std::optional<std::string> read_line(int timeout_ms) {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, timeout_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) throw Failure{kNoConnection, "no answer from haystackd within --timeout"};
      char tmp[65536];
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Failure{kNoConnection, std::string("read: ") + std::strerror(errno)};
      if (n == 0) return std::nullopt;
      buf_.append(tmp, size_t(n));
    }
  }

  json request(const std::string& cmd, const json& args) {
    send(json{{"id", 1}, {"cmd", cmd}, {"args", args}}.dump());
    auto line = read_line(timeout_ms_);
    if (!line) throw Failure{kNoConnection, "haystackd closed the connection without an answer"};
    json r = json::parse(*line, nullptr, false);
    if (r.is_discarded() || !r.is_object()) {
      throw Failure{kNoConnection, "haystackd sent a malformed answer: " + line->substr(0, 200)};
    }
    if (!r.value("ok", false)) {
      const json& e = r["error"];
      throw Failure{kDaemonError, e.value("code", "error") + ": " + e.value("message", "")};
    }
    return r["result"];
  }

 private:
  int fd_ = -1;
  int timeout_ms_;
  std::string buf_;
};

std::string text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

void print_table(const std::vector<std::string>& head,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t i = 0; i < head.size(); ++i) w[i] = head[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t i = 0; i < r.size(); ++i) {
      s += r[i];
      if (i + 1 < r.size()) s += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", s.c_str());
  };
  line(head);
  for (const auto& r : rows) line(r);
}

// Nested objects as aligned "dotted.key  value" lines.
void flatten(const json& v, const std::string& prefix, std::vector<std::vector<std::string>>& out) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, x] : v.items()) flatten(x, prefix.empty() ? k : prefix + "." + k, out);
  } else if (v.is_array() && !v.empty() && (v[0].is_object() || v[0].is_array())) {
    for (size_t i = 0; i < v.size(); ++i) flatten(v[i], prefix + "." + std::to_string(i), out);
  } else {
    out.push_back({prefix, text(v)});
  }
}

void print_flat(const json& v) {
  std::vector<std::vector<std::string>> rows;
  flatten(v, "", rows);
  print_table({"KEY", "VALUE"}, rows);
}

void print_status(const json& r) {
  json top = r;
  top.erase("ports");
  top.erase("workers");
  print_flat(top);
  std::printf("\n");
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : r["ports"]) {
    rows.push_back({text(p["name"]), text(p["driver"]), text(p["rx_queues"]), text(p["ipackets"]),
                    text(p["imissed"]), text(p["ierrors"]), text(p["rx_nombuf"])});
  }
  print_table({"PORT", "DRIVER", "QUEUES", "IPACKETS", "IMISSED", "IERRORS", "RX_NOMBUF"}, rows);
  std::printf("\n");
  rows.clear();
  for (const auto& w : r["workers"]) {
    std::string qs;
    for (const auto& q : w["queues"]) qs += (qs.empty() ? "" : ",") + text(q);
    rows.push_back({text(w["worker"]), text(w["lcore"]), qs, text(w["rx_packets"])});
  }
  print_table({"WORKER", "LCORE", "QUEUES", "RX_PACKETS"}, rows);
}

void print_ranked(const json& r) {
  std::printf("%s %s bin %s%s metric %s, total packets %s bytes %s flows %s\n",
              text(r["feature_set"]).c_str(), text(r["granularity"]).c_str(),
              text(r["bin"]).c_str(),
              r.contains("before") ? (" vs " + text(r["before"])).c_str() : "",
              text(r["metric"]).c_str(), text(r["total"]["packets"]).c_str(),
              text(r["total"]["bytes"]).c_str(), text(r["total"]["flows"]).c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : r["rows"]) {
    rows.push_back({text(x["key"]), text(x["value"]["packets"]), text(x["value"]["bytes"]),
                    text(x["value"]["flows"])});
  }
  print_table({"NODE", "PACKETS", "BYTES", "FLOWS"}, rows);
}

std::vector<std::string> alert_row(const json& a) {
  return {text(a["time"]), text(a["type"]), text(a["severity"]), text(a["subject"]),
          a["details"].dump()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "haystackctl: query and watch a running haystackd over its control socket.\n"
      "Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,\n"
      "3 cannot connect (or no answer within --timeout).",
      "haystackctl"};
  app.set_version_flag("--version", std::string("haystackctl ") + HAYSTACK_VERSION);
  app.require_subcommand(1);
  std::string socket_path = kDefaultSocket;
  bool as_json = false;
  double timeout = 10.0;
  app.add_option("-s,--socket", socket_path, "control socket of haystackd (control.socket)")
      ->envname("HAYSTACK_SOCKET")
      ->capture_default_str()
      ->type_name("PATH");
  app.add_flag("--json", as_json, "print the daemon's result as JSON instead of tables");
  app.add_option("--timeout", timeout, "seconds to wait for an answer")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));

  std::string cmd;
  json args = json::object();
  // Options are collected into `args` after parsing; unset ones are left out.
  std::string service, level, window, since, granularity, bin, metric, before, path, flowql,
      feature_set;
  uint64_t limit = 0, k = 0, threshold = 0;
  int depth = -1;
  double phi = 0;
  bool per_core = false, bins = false, follow = false;

  auto* status =
      app.add_subcommand("status", "version, uptime, mode, ports, workers, hitlist, bins");
  auto* stats = app.add_subcommand("stats", "every counter, drops included");
  stats->add_flag("--per-core", per_core, "counters of each worker too");
  stats->add_flag("--bins", bins, "per-bin totals of the bins held in memory");
  auto* hitlist = app.add_subcommand("hitlist", "the IoT hitlist in use");
  hitlist->require_subcommand(1);
  auto* hl_show = hitlist->add_subcommand("show", "path, validity, provenance, counts, generation");
  auto* hl_reload = hitlist->add_subcommand(
      "reload", "load, validate and publish a bundle as the next generation (as SIGHUP does)");
  hl_reload->add_option("path", path, "bundle file (default: iot.hitlist of the config)");
  auto* det = app.add_subcommand("detections", "IoT detections of closed windows");
  det->add_option("--service", service, "only this service key");
  det->add_option("--level", level, "platform, manufacturer or product");
  det->add_option("--window", window, "hour or day");
  det->add_option("--since", since, "windows starting at or after TIME (2026-11-01T10:00:00Z)");
  det->add_option("--limit", limit, "at most N rows (default 1000)");
  auto* svc = app.add_subcommand("services", "subscriber lines per service per window");
  svc->add_option("--window", window, "hour or day");
  svc->add_option("--since", since, "windows starting at or after TIME");
  auto* al = app.add_subcommand("alerts", "recent alerts; --follow streams new ones");
  al->add_flag("-f,--follow", follow, "keep printing alerts as they are raised");
  al->add_option("--since", since, "alerts at or after TIME");
  al->add_option("--limit", limit, "at most the newest N (default 1000)");
  auto* eui = app.add_subcommand("eui64", "last hourly and daily IPv6 EUI-64 exposure reports");
  eui->add_option("--window", window, "hour or day (default both)");
  auto* query =
      app.add_subcommand("query", "a FlowQL query over the stored trees (docs/flowql.md)");
  query
      ->add_option("flowql", flowql,
                   "e.g. \"SELECT top-10 FROM 2026-11-01 00:00 TO 2026-11-02 00:00 WHERE "
                   "src_ip = ANY\"")
      ->required();
  std::vector<CLI::App*> tree_cmds;
  auto tree_cmd = [&](const char* name, const char* what) {
    auto* c = app.add_subcommand(name, what);
    c->add_option("feature_set", feature_set, "SI, DI, SP, DP, SIDI, ..., FULL")->required();
    c->add_option("-g,--granularity", granularity, "1m, 15m, 1h, 1d, ... (default: the bin)");
    c->add_option("--bin", bin, "the stored period containing TIME (default: the latest)");
    c->add_option("--metric", metric, "packets (default), bytes or flows");
    tree_cmds.push_back(c);
    return c;
  };
  auto* top = tree_cmd("top", "top-k hierarchical heavy hitters of a stored site tree");
  top->add_option("-k", k, "how many (default 10)");
  top->add_option("--depth", depth, "rank the nodes of this level (0 = most specific)");
  auto* hhh = tree_cmd("hhh", "hierarchical heavy hitters above phi * total");
  hhh->add_option("--phi", phi, "fraction of the total, e.g. 0.05")->required();
  auto* above = tree_cmd("above", "every node with a count >= threshold");
  above->add_option("-t,--threshold", threshold, "count")->required();
  auto* hc = tree_cmd("hc", "top-k heavy changers between two stored periods");
  hc->add_option("-k", k, "how many (default 10)");
  hc->add_option("--before", before, "the earlier period (default: the one before --bin)");
  auto* config = app.add_subcommand("config", "the daemon's configuration");
  config->require_subcommand(1);
  auto* cfg_show =
      config->add_subcommand("show", "the effective configuration, defaults filled in");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kOk : kUsage;
  }

  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) args[key] = v;
  };
  put("service", service);
  put("level", level);
  put("window", window);
  put("since", since);
  put("granularity", granularity);
  put("bin", bin);
  put("metric", metric);
  put("before", before);
  put("path", path);
  if (limit) args["limit"] = limit;
  if (status->parsed()) cmd = "status";
  if (stats->parsed()) {
    cmd = "stats";
    if (per_core) args["per_core"] = true;
    if (bins) args["bins"] = true;
  }
  if (hl_show->parsed()) cmd = "hitlist.show";
  if (hl_reload->parsed()) cmd = "hitlist.reload";
  if (det->parsed()) cmd = "detections";
  if (svc->parsed()) cmd = "services";
  if (al->parsed()) {
    cmd = "alerts";
    if (follow) args["follow"] = true;
  }
  if (eui->parsed()) cmd = "eui64";
  if (query->parsed()) {
    cmd = "query";
    args["flowql"] = flowql;
    if (!as_json) args["text"] = true;  // the daemon renders the tables
  }
  for (auto* c : tree_cmds) {
    if (!c->parsed()) continue;
    cmd = c->get_name();
    args["feature_set"] = feature_set;
    if (k) args["k"] = k;
    if (depth >= 0) args["depth"] = depth;
  }
  if (hhh->parsed()) args["phi"] = phi;
  if (above->parsed()) args["threshold"] = threshold;
  if (cfg_show->parsed()) cmd = "config.show";

  try {
    Connection conn(socket_path, timeout);
    json r = conn.request(cmd, args);
    if (as_json && follow) {  // JSON lines: the recent alerts, then each new one
      for (const auto& a : r["alerts"]) std::cout << a.dump() << "\n";
    } else if (as_json) {
      std::cout << r.dump() << std::endl;
    } else if (cmd == "query") {
      std::cout << r["text"].get<std::string>();
    } else if (cmd == "status") {
      print_status(r);
    } else if (cmd == "top" || cmd == "hhh" || cmd == "above" || cmd == "hc") {
      print_ranked(r);
    } else if (cmd == "detections") {
      std::vector<std::vector<std::string>> rows;
      for (const auto& d : r["detections"]) {
        rows.push_back({text(d["window"]), text(d["window_start"]), text(d["line"]),
                        text(d["service"]), text(d["level"]), text(d["domains"].size()),
                        text(d["packets"]), text(d["active"])});
      }
      print_table({"WINDOW", "START", "LINE", "SERVICE", "LEVEL", "DOMAINS", "PACKETS", "ACTIVE"},
                  rows);
      std::printf("%s of %s matching detections\n", text(r["returned"]).c_str(),
                  text(r["matched"]).c_str());
    } else if (cmd == "services") {
      std::vector<std::vector<std::string>> rows;
      for (const auto& w : r["windows"]) {
        for (const auto& s : w["services"]) {
          rows.push_back({text(w["window"]), text(w["window_start"]), text(s["service"]),
                          text(s["level"]), text(s["lines"]), text(s["active_lines"])});
        }
      }
      print_table({"WINDOW", "START", "SERVICE", "LEVEL", "LINES", "ACTIVE_LINES"}, rows);
    } else if (cmd == "alerts") {
      std::vector<std::vector<std::string>> rows;
      for (const auto& a : r["alerts"]) rows.push_back(alert_row(a));
      print_table({"TIME", "TYPE", "SEVERITY", "SUBJECT", "DETAILS"}, rows);
    } else {
      print_flat(r);
    }
    std::cout.flush();
    std::fflush(stdout);
    if (follow) {
      while (auto line = conn.read_line(-1)) {
        json ev = json::parse(*line, nullptr, false);
        if (ev.is_discarded() || !ev.contains("alert")) continue;
        if (as_json) {
          std::cout << ev["alert"].dump() << std::endl;
        } else {
          const auto row = alert_row(ev["alert"]);
          std::printf("%s  %s  %s  %s  %s\n", row[0].c_str(), row[1].c_str(), row[2].c_str(),
                      row[3].c_str(), row[4].c_str());
          std::fflush(stdout);
        }
      }
    }
  } catch (const Failure& f) {
    std::fprintf(stderr, "haystackctl: %s\n", f.message.c_str());
    return f.code;
  }
  return kOk;
}
