#include "control/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <spdlog/spdlog.h>

namespace haystack {

namespace {

std::runtime_error sys_error(const std::string& path, const std::string& what) {
  return std::runtime_error("control socket " + path + ": " + what + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// True when a process accepts connections on `path`.
bool someone_listens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_un a = address_of(path);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string ControlSocket::error_line(const nlohmann::json& id, std::string_view code,
                                      std::string_view message) {
  nlohmann::ordered_json j;
  j["id"] = id;
  j["ok"] = false;
  j["error"] = {{"code", code}, {"message", message}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

ControlSocket::ControlSocket(std::string path, ControlSocketLimits limits)
    : path_(std::move(path)), limits_(limits) {
  if (path_.empty() || path_.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("control socket '" + path_ + "': path must be 1.." +
                             std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes long");
  }
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("control socket " + path_ + ": cannot create directory " +
                               parent.string() + ": " + ec.message());
    }
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error("control socket " + path_ +
                               ": exists and is not a socket; remove it or set control.socket");
    }
    if (someone_listens(path_)) {
      throw std::runtime_error("control socket " + path_ +
                               ": another haystackd is already listening there (stop it, or "
                               "give this one its own state_dir or control.socket)");
    }
    // Left behind by a daemon that did not exit cleanly.
    if (::unlink(path_.c_str()) != 0) throw sys_error(path_, "cannot remove stale socket");
    spdlog::info("control socket {}: removed stale socket file", path_);
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw sys_error(path_, "socket");
  const sockaddr_un a = address_of(path_);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const auto e = sys_error(path_, "bind");
    ::close(listen_fd_);
    throw e;
  }
  // Group members (e.g. an `haystack` operators group) may connect; others may not.
  if (::chmod(path_.c_str(), 0660) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::stat(path_.c_str(), &st) != 0) {
    const auto e = sys_error(path_, "chmod/listen");
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw e;
  }
  ino_ = st.st_ino;
  dev_ = st.st_dev;
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    const auto e = sys_error(path_, "eventfd");
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    throw e;
  }
}

ControlSocket::~ControlSocket() {
  stop_.store(true);
  wake();
  if (thread_.joinable()) thread_.join();
  for (auto& [id, c] : clients_) ::close(c.fd);
  ::close(listen_fd_);
  ::close(wake_fd_);
  // Only our own file: a daemon started after us may have replaced it.
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && st.st_ino == ino_ && st.st_dev == dev_) {
    ::unlink(path_.c_str());
  }
}

void ControlSocket::start() {
  thread_ = std::thread([this] { run(); });
}

void ControlSocket::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

ControlSocketCounters ControlSocket::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return c_;
}

size_t ControlSocket::dispatch(const Handler& h) {
  std::deque<ControlRequest> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  for (const ControlRequest& r : batch) {
    std::string line;
    bool follow = false, failed = true;
    try {
      ControlReply rep = h(r);
      nlohmann::ordered_json j;
      j["id"] = r.id;
      j["ok"] = true;
      j["result"] = std::move(rep.result);
      line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      follow = rep.follow;
      failed = false;
    } catch (const CommandError& e) {
      line = error_line(r.id, e.code(), e.what());
    } catch (const nlohmann::json::exception& e) {
      line = error_line(r.id, "bad_args", e.what());
    } catch (const std::exception& e) {
      line = error_line(r.id, "internal", e.what());
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (failed) ++c_.errors;
    auto it = clients_.find(r.client);
    if (it == clients_.end()) continue;  // gone before its answer
    Client& c = it->second;
    --c.inflight;
    c.out += line;
    c.out += '\n';
    if (follow && !c.follow) {
      c.follow = true;
      ++c_.subscribers;
    }
  }
  if (!batch.empty()) wake();
  return batch.size();
}

void ControlSocket::publish(std::string_view line) {
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, c] : clients_) {
      if (!c.follow || c.dead) continue;
      if (c.out.size() + line.size() + 1 > limits_.max_output) {
        c.dead = true;  // never wait for a slow reader
        c.follow = false;
        --c_.subscribers;
        ++c_.subscribers_dropped;
        spdlog::warn("control socket: dropped a follower {} bytes behind", c.out.size());
      } else {
        c.out.append(line);
        c.out += '\n';
      }
      any = true;
    }
  }
  if (any) wake();
}

void ControlSocket::send_error(Client& c, const nlohmann::json& id, std::string_view code,
                               std::string_view message) {
  ++c_.errors;
  c.out += error_line(id, code, message);
  c.out += '\n';
}

void ControlSocket::close_client(std::map<uint64_t, Client>::iterator it) {
  ::close(it->second.fd);
  if (it->second.follow) --c_.subscribers;
  --c_.clients;
  clients_.erase(it);
}

void ControlSocket::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll tells us again
    std::lock_guard<std::mutex> lock(mu_);
    if (clients_.size() >= limits_.max_clients) {
      ++c_.clients_rejected;
      ++c_.errors;
      const std::string l = error_line(nullptr, "too_many_clients",
                                       "the daemon serves " + std::to_string(limits_.max_clients) +
                                           " clients at once (control.max_clients)") +
                            "\n";
      [[maybe_unused]] ssize_t n = ::send(fd, l.data(), l.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    ++c_.clients_accepted;
    ++c_.clients;
    clients_[next_id_++].fd = fd;
  }
}

void ControlSocket::handle_line(uint64_t id, Client& c, std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  ++c_.requests;
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) return send_error(c, nullptr, "bad_request", "request is not valid JSON");
  if (!j.is_object()) return send_error(c, nullptr, "bad_request", "request must be a JSON object");
  nlohmann::json rid = j.contains("id") ? j["id"] : nlohmann::json(nullptr);
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string() || cmd->get_ref<const std::string&>().empty()) {
    return send_error(c, rid, "bad_request", "request needs \"cmd\": a non-empty string");
  }
  nlohmann::json args = nlohmann::json::object();
  if (auto a = j.find("args"); a != j.end() && !a->is_null()) {
    if (!a->is_object()) return send_error(c, rid, "bad_request", "\"args\" must be an object");
    args = std::move(*a);
  }
  ++c.inflight;
  queue_.push_back(ControlRequest{id, std::move(rid), cmd->get<std::string>(), std::move(args)});
}

void ControlSocket::pump(uint64_t id, Client& c) {
  size_t start = 0;
  while (!c.closing && c.inflight < limits_.max_inflight) {
    const size_t nl = c.in.find('\n', start);
    if (nl == std::string::npos) break;
    if (nl - start > limits_.max_line) break;  // reported below
    handle_line(id, c, std::string_view(c.in).substr(start, nl - start));
    start = nl + 1;
  }
  c.in.erase(0, start);
  const size_t nl = c.in.find('\n');
  if (!c.closing && (nl == std::string::npos ? c.in.size() : nl) > limits_.max_line) {
    ++c_.lines_too_long;
    send_error(c, nullptr, "line_too_long",
               "request line longer than " + std::to_string(limits_.max_line) +
                   " bytes; closing the connection");
    c.closing = true;
    c.in.clear();
  }
}

void ControlSocket::read_client(uint64_t id, Client& c) {
  char buf[16384];
  const ssize_t n = ::read(c.fd, buf, sizeof buf);
  std::lock_guard<std::mutex> lock(mu_);
  if (n < 0 && errno != EAGAIN && errno != EINTR) {
    c.dead = true;
    return;
  }
  if (n == 0) {  // the client finished sending: answer what it sent, then close
    c.eof = true;
    if (!c.in.empty() && c.in.back() != '\n') c.in += '\n';
  }
  if (n > 0) c.in.append(buf, size_t(n));
  pump(id, c);
}

void ControlSocket::write_client(Client& c) {
  if (c.out.empty()) return;
  const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) {
    c.out.erase(0, size_t(n));
  } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
    c.dead = true;
  }
}

void ControlSocket::run() {
  std::vector<pollfd> fds;
  std::vector<uint64_t> ids;
  while (!stop_.load()) {
    fds.clear();
    ids.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = clients_.begin(); it != clients_.end();) {
        Client& c = it->second;
        pump(it->first, c);  // lines left over when the in-flight limit was reached
        const bool line_waiting = c.in.find('\n') != std::string::npos;
        const bool drained = c.out.empty() && c.inflight == 0 && !line_waiting;
        if (c.dead || (c.closing && c.out.empty()) || (c.eof && drained && !c.follow)) {
          close_client(it++);
          continue;
        }
        short ev = 0;
        if (!c.closing && !c.eof && !line_waiting && c.inflight < limits_.max_inflight &&
            c.out.size() < limits_.max_output) {
          ev |= POLLIN;
        }
        if (!c.out.empty()) ev |= POLLOUT;
        // Not interested: leave it out (-1), or a hung-up peer would wake poll in a loop.
        fds.push_back({ev ? c.fd : -1, ev, 0});
        ids.push_back(it->first);
        ++it;
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("control socket {}: poll: {}", path_, std::strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
    }
    if (fds[1].revents & POLLIN) accept_clients();
    for (size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      Client* c;
      {
        std::lock_guard<std::mutex> lock(mu_);
        c = &clients_.at(ids[i - 2]);  // only this thread erases clients
        if (fds[i].revents & POLLOUT) write_client(*c);
        if (fds[i].revents & (POLLERR | POLLNVAL)) c->dead = true;
      }
      if (fds[i].revents & (POLLIN | POLLHUP)) read_client(ids[i - 2], *c);
      if (fds[i].revents & POLLHUP) {
        std::lock_guard<std::mutex> lock(mu_);
        if (c->follow) c->dead = true;  // gone for good: free its slot now
      }
    }
  }
}

}  // namespace haystack
