// ControlSocket: the Unix stream socket haystackctl talks to (docs/control-protocol.md).
// One helper thread (not an EAL lcore, never a worker) owns the sockets and does all I/O
// with poll(); it frames JSON lines, answers malformed ones itself and queues the rest.
// The control loop calls dispatch() every iteration, which runs the handler for each
// queued request on the control thread — so handlers read daemon state without locks —
// and queues the replies. Everything is bounded: line length, clients, queued requests
// and buffered output per client. A follower whose buffered output would pass the limit
// is dropped and counted, so a slow reader never holds up control.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

namespace haystack {

struct ControlSocketLimits {
  size_t max_line = 64 * 1024;  // bytes per request line, newline excluded
  size_t max_clients = 16;      // connected at once; more are told so and closed
  size_t max_output = 4 << 20;  // bytes buffered per client (reading pauses; followers drop)
  size_t max_inflight = 8;      // queued requests per client before reading pauses
};

struct ControlSocketCounters {
  uint64_t requests = 0;  // request lines received (malformed ones included)
  uint64_t errors = 0;    // error responses sent
  uint64_t clients_accepted = 0;
  uint64_t clients_rejected = 0;     // over max_clients
  uint64_t clients = 0;              // connected now
  uint64_t subscribers = 0;          // following events now
  uint64_t subscribers_dropped = 0;  // followers that fell max_output behind
  uint64_t lines_too_long = 0;
};

// Thrown by a handler: becomes {"ok":false,"error":{"code":code,"message":what}}.
class CommandError : public std::runtime_error {
 public:
  CommandError(std::string code, const std::string& message)
      : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

struct ControlRequest {
  uint64_t client = 0;
  nlohmann::json id;  // echoed in the response; null when absent
  std::string cmd;
  nlohmann::json args;  // always an object
};

struct ControlReply {
  nlohmann::ordered_json result;
  bool follow = false;  // from now on the client also receives every published event
};

class ControlSocket {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;

  // Binds and listens on `path` (mode 0660), replacing a stale socket file. Throws
  // std::runtime_error naming the path when it cannot, e.g. when a daemon listens there.
  explicit ControlSocket(std::string path, ControlSocketLimits limits = {});
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  // Starts the I/O thread (separate from construction so the daemon binds before EAL
  // init and starts the thread after it, on the main lcore's CPU set).
  void start();
  // Control thread: runs `h` for every queued request, queues the responses. Returns
  // how many requests ran.
  size_t dispatch(const Handler& h);
  // Any thread: one event line (no newline) to every follower.
  void publish(std::string_view line);

  ControlSocketCounters counters() const;
  const std::string& path() const { return path_; }

  static std::string error_line(const nlohmann::json& id, std::string_view code,
                                std::string_view message);

 private:
  struct Client {
    int fd = -1;
    std::string in;       // I/O thread only
    std::string out;      // guarded by mu_
    size_t inflight = 0;  // queued requests not yet answered
    bool follow = false;
    bool closing = false;  // close once `out` is flushed
    bool eof = false;      // peer sent everything: close once answered
    bool dead = false;     // close now
  };

  void run();
  void accept_clients();
  void read_client(uint64_t id, Client& c);
  void pump(uint64_t id, Client& c);  // complete lines -> requests; mu_ held
  void handle_line(uint64_t id, Client& c, std::string_view line);  // mu_ held
  void write_client(Client& c);                                     // mu_ held
  void close_client(std::map<uint64_t, Client>::iterator it);       // mu_ held
  void send_error(Client& c, const nlohmann::json& id, std::string_view code,
                  std::string_view message);  // mu_ held
  void wake();

  std::string path_;
  ControlSocketLimits limits_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint64_t ino_ = 0, dev_ = 0;  // of our socket file: unlink only that one
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex mu_;
  std::map<uint64_t, Client> clients_;
  uint64_t next_id_ = 1;
  std::deque<ControlRequest> queue_;
  ControlSocketCounters c_;
};

}  // namespace haystack
