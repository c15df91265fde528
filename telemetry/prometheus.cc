#include "telemetry/prometheus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

namespace haystack::prom {

namespace {

bool name_chars(std::string_view s, bool colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escape(std::string_view s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e18) return fmt::format("{}", int64_t(v));
  return fmt::format("{}", v);
}

}  // namespace

bool valid_metric_name(std::string_view s) { return name_chars(s, true); }
bool valid_label_name(std::string_view s) { return name_chars(s, false) && s.substr(0, 2) != "__"; }

std::string render(const std::vector<Family>& families) {
  std::string out;
  std::set<std::string, std::less<>> seen;
  for (const Family& f : families) {
    if (!valid_metric_name(f.name)) throw std::invalid_argument("invalid metric name '" + f.name + "'");
    if (!seen.insert(f.name).second) throw std::invalid_argument("duplicate metric '" + f.name + "'");
    bool total = f.name.size() > 6 && f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    if ((f.type == Type::kCounter) != total) {
      throw std::invalid_argument("metric '" + f.name + "': counters and only counters end in _total");
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, escape(f.help, false), f.name,
                       f.type == Type::kCounter ? "counter" : "gauge");
    for (const Sample& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < s.labels.size(); ++i) {
          if (!valid_label_name(s.labels[i].first))
            throw std::invalid_argument("metric '" + f.name + "': invalid label '" + s.labels[i].first + "'");
          out += fmt::format("{}{}=\"{}\"", i ? "," : "", s.labels[i].first,
                             escape(s.labels[i].second, true));
        }
        out += '}';
      }
      out += ' ';
      out += number(s.value);
      out += '\n';
    }
  }
  return out;
}

HttpExporter::HttpExporter(const std::string& host, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    throw std::runtime_error(fmt::format("prometheus: '{}' is not an IPv4 address", host));
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    int err = errno;
    if (listen_fd_ >= 0) ::close(listen_fd_);
    throw std::runtime_error(
        fmt::format("prometheus: cannot listen on {}:{}: {}", host, port, std::strerror(err)));
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

HttpExporter::~HttpExporter() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
}

void HttpExporter::publish(std::string text) {
  std::lock_guard lk(mu_);
  text_ = std::move(text);
}

ExporterCounters HttpExporter::counters() const {
  std::lock_guard lk(mu_);
  return counters_;
}

// One request per connection (Connection: close), served in turn: scrapes are rare
// and small, and a client that sends nothing is cut off after 2 s.
void HttpExporter::serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    handle(fd);
    // Lingering close: unread request bytes would turn close() into a reset that can
    // destroy the response before the client reads it.
    ::shutdown(fd, SHUT_WR);
    timeval brief{0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &brief, sizeof brief);
    char sink[4096];
    for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, 0) > 0; ++i) {
    }
    ::close(fd);
  }
}

void HttpExporter::handle(int fd) {
  constexpr size_t kMaxRequest = 8192;
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < kMaxRequest) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, size_t(n));
  }
  auto reply = [&](const char* status, std::string_view type, const std::string& body) {
    std::string head = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        status, type, body.size());
    std::string all = head + body;
    for (size_t off = 0; off < all.size();) {
      ssize_t n = ::send(fd, all.data() + off, all.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += size_t(n);
    }
  };
  std::lock_guard lk(mu_);
  ++counters_.connections;
  size_t eol = req.find("\r\n");
  std::string line = req.substr(0, eol == std::string::npos ? 0 : eol);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (eol == std::string::npos || sp1 == std::string::npos || sp1 == sp2) {
    ++counters_.bad_requests;
    reply("400 Bad Request", "text/plain", "bad request\n");
    return;
  }
  std::string method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method != "GET") {
    ++counters_.bad_requests;
    reply("405 Method Not Allowed", "text/plain", "only GET is supported\n");
  } else if (target == "/metrics" || target.rfind("/metrics?", 0) == 0) {
    ++counters_.scrapes;
    reply("200 OK", "text/plain; version=0.0.4; charset=utf-8", text_);
  } else {
    ++counters_.bad_requests;
    reply("404 Not Found", "text/plain", "haystackd serves metrics at /metrics\n");
  }
}

}  // namespace haystack::prom
