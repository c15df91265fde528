// The control socket server over real Unix sockets: framing, malformed and oversize
// requests, limits, concurrent clients, follow subscriptions and dropping slow followers.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "control/control_commands.h"
#include "control/control_socket.h"

using namespace haystack;
using json = nlohmann::json;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("haystack_test_ctl_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string sock() const { return (path / "ctl.sock").string(); }
};

// Echo handler: {"echo": args}; "fail" throws a CommandError, "follow" subscribes.
ControlReply echo(const ControlRequest& r) {
  if (r.cmd == "fail") throw CommandError("not_found", "nothing here");
  if (r.cmd == "boom") throw std::runtime_error("broken");
  if (r.cmd != "echo" && r.cmd != "follow") throw CommandError("unknown_command", "unknown");
  ControlReply rep;
  rep.result = {{"echo", r.args}};
  rep.follow = r.cmd == "follow";
  return rep;
}

// Plays the daemon's control loop: dispatch every millisecond on its own thread.
struct ControlLoop {
  ControlSocket& s;
  std::atomic<bool> stop{false};
  std::thread t;
  explicit ControlLoop(ControlSocket& sock) : s(sock) {
    t = std::thread([this] {
      while (!stop) {
        s.dispatch(echo);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~ControlLoop() {
    stop = true;
    t.join();
  }
};

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Client() { ::close(fd_); }
  void send(const std::string& s) {
    BOOST_REQUIRE(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size()));
  }
  // Next line, or nullopt at end of file; fails the test after 5 s.
  std::optional<std::string> line() {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string l = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return l;
      }
      pollfd p{fd_, POLLIN, 0};
      BOOST_REQUIRE_MESSAGE(::poll(&p, 1, 5000) == 1, "no answer within 5 s");
      char tmp[65536];
      ssize_t n = ::read(fd_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, size_t(n));
    }
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(control_socket)

BOOST_AUTO_TEST_CASE(framing_split_and_batched_requests) {
  TempDir d;
  ControlSocket s(d.sock());
  s.start();
  ControlLoop loop(s);
  Client c(d.sock());
  // Two requests in one write, then one request split over three writes.
  c.send("{\"id\":1,\"cmd\":\"echo\",\"args\":{\"a\":1}}\n{\"id\":\"two\",\"cmd\":\"echo\"}\r\n");
  BOOST_TEST(*c.line() == R"j({"id":1,"ok":true,"result":{"echo":{"a":1}}})j");
  BOOST_TEST(*c.line() == R"j({"id":"two","ok":true,"result":{"echo":{}}})j");
  c.send("{\"id\":3,");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.send("\"cmd\":\"ec");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.send("ho\"}\n\n   \n");  // blank lines are ignored
  BOOST_TEST(*c.line() == R"j({"id":3,"ok":true,"result":{"echo":{}}})j");
  // No id: null is echoed.
  c.send("{\"cmd\":\"echo\"}\n");
  BOOST_TEST(*c.line() == R"j({"id":null,"ok":true,"result":{"echo":{}}})j");
  const ControlSocketCounters k = s.counters();
  BOOST_TEST(k.requests == 4u);
  BOOST_TEST(k.errors == 0u);
  BOOST_TEST(k.clients == 1u);
  BOOST_TEST(k.clients_accepted == 1u);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_errors_and_the_connection_lives_on) {
  TempDir d;
  ControlSocket s(d.sock());
  s.start();
  ControlLoop loop(s);
  Client c(d.sock());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json",
       R"({"id":null,"ok":false,"error":{"code":"bad_request","message":"request is not valid JSON"}})"},
      {"[1,2]",
       R"({"id":null,"ok":false,"error":{"code":"bad_request","message":"request must be a JSON object"}})"},
      {R"j({"id":5})j",
       R"({"id":5,"ok":false,"error":{"code":"bad_request","message":"request needs \"cmd\": a non-empty string"}})"},
      {R"j({"id":6,"cmd":7})j",
       R"({"id":6,"ok":false,"error":{"code":"bad_request","message":"request needs \"cmd\": a non-empty string"}})"},
      {R"j({"id":7,"cmd":"echo","args":[1]})j",
       R"({"id":7,"ok":false,"error":{"code":"bad_request","message":"\"args\" must be an object"}})"},
      {R"j({"id":8,"cmd":"nope"})j",
       R"({"id":8,"ok":false,"error":{"code":"unknown_command","message":"unknown"}})"},
      {R"j({"id":9,"cmd":"fail"})j",
       R"({"id":9,"ok":false,"error":{"code":"not_found","message":"nothing here"}})"},
      {R"j({"id":10,"cmd":"boom"})j",
       R"({"id":10,"ok":false,"error":{"code":"internal","message":"broken"}})"},
      {"{\"id\":11,\"cmd\":\"echo\",\"args\":{\"x\":\"\xff\"}}",
       R"({"id":null,"ok":false,"error":{"code":"bad_request","message":"request is not valid JSON"}})"},
  };
  for (const auto& [req, want] : cases) {
    c.send(req + "\n");
    BOOST_TEST(*c.line() == want, req);
  }
  c.send("{\"id\":12,\"cmd\":\"echo\"}\n");
  BOOST_TEST(*c.line() == R"j({"id":12,"ok":true,"result":{"echo":{}}})j");
  BOOST_TEST(s.counters().errors == cases.size());
  BOOST_TEST(s.counters().requests == cases.size() + 1);
}

BOOST_AUTO_TEST_CASE(oversize_line_is_refused_and_the_connection_closed) {
  TempDir d;
  ControlSocketLimits lim;
  lim.max_line = 1024;
  ControlSocket s(d.sock(), lim);
  s.start();
  ControlLoop loop(s);
  Client other(d.sock());
  Client c(d.sock());
  // Exactly max_line bytes is fine.
  std::string ok = "{\"id\":1,\"cmd\":\"echo\",\"args\":{\"p\":\"";
  ok += std::string(1024 - ok.size() - 3, 'x') + "\"}}";
  BOOST_REQUIRE(ok.size() == 1024);
  c.send(ok + "\n");
  BOOST_TEST(c.line()->size() > 1024u);
  // One byte more, without a newline: refused before the line ends.
  c.send(std::string(1025, 'y'));
  BOOST_TEST(
      *c.line() ==
      R"j({"id":null,"ok":false,"error":{"code":"line_too_long","message":"request line longer than 1024 bytes; closing the connection"}})j");
  BOOST_TEST(!c.line().has_value());  // closed
  other.send("{\"id\":2,\"cmd\":\"echo\"}\n");
  BOOST_TEST(*other.line() == R"j({"id":2,"ok":true,"result":{"echo":{}}})j");
  BOOST_TEST(s.counters().lines_too_long == 1u);
  BOOST_TEST(s.counters().clients == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_clients_each_get_their_own_answers) {
  TempDir d;
  ControlSocket s(d.sock());
  s.start();
  ControlLoop loop(s);
  constexpr int kClients = 8, kRequests = 50;
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < kClients; ++i) {
    ts.emplace_back([&, i] {
      Client c(d.sock());
      // Pipelined: more than max_inflight requests in flight at once.
      std::string batch;
      for (int r = 0; r < kRequests; ++r)
        batch += json{{"id", r}, {"cmd", "echo"}, {"args", {{"client", i}}}}.dump() + "\n";
      c.send(batch);
      for (int r = 0; r < kRequests; ++r) {
        json j = json::parse(*c.line());
        if (j["id"] == r && j["ok"] == true && j["result"]["echo"]["client"] == i) ++good;
      }
    });
  }
  for (auto& t : ts) t.join();
  BOOST_TEST(good == kClients * kRequests);
  BOOST_TEST(s.counters().requests == uint64_t(kClients * kRequests));
  BOOST_TEST(s.counters().clients_accepted == uint64_t(kClients));
}

BOOST_AUTO_TEST_CASE(clients_over_the_limit_are_told_and_closed) {
  TempDir d;
  ControlSocketLimits lim;
  lim.max_clients = 2;
  ControlSocket s(d.sock(), lim);
  s.start();
  ControlLoop loop(s);
  Client a(d.sock()), b(d.sock());
  a.send("{\"id\":1,\"cmd\":\"echo\"}\n");  // both are in before the third arrives
  b.send("{\"id\":1,\"cmd\":\"echo\"}\n");
  a.line();
  b.line();
  Client c(d.sock());
  BOOST_TEST(
      *c.line() ==
      R"j({"id":null,"ok":false,"error":{"code":"too_many_clients","message":"the daemon serves 2 clients at once (control.max_clients)"}})j");
  BOOST_TEST(!c.line().has_value());
  BOOST_TEST(s.counters().clients_rejected == 1u);
}

BOOST_AUTO_TEST_CASE(followers_receive_every_published_line_in_order) {
  TempDir d;
  ControlSocket s(d.sock());
  s.start();
  ControlLoop loop(s);
  Client f(d.sock()), plain(d.sock());
  f.send("{\"id\":1,\"cmd\":\"follow\"}\n");
  BOOST_TEST(*f.line() == R"j({"id":1,"ok":true,"result":{"echo":{}}})j");
  BOOST_TEST(s.counters().subscribers == 1u);
  for (int i = 0; i < 3; ++i) s.publish("{\"event\":\"alert\",\"n\":" + std::to_string(i) + "}");
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(*f.line() == "{\"event\":\"alert\",\"n\":" + std::to_string(i) + "}");
  // A follower still gets answers; a non-follower gets no events.
  f.send("{\"id\":2,\"cmd\":\"echo\"}\n");
  BOOST_TEST(*f.line() == R"j({"id":2,"ok":true,"result":{"echo":{}}})j");
  plain.send("{\"id\":3,\"cmd\":\"echo\"}\n");
  BOOST_TEST(*plain.line() == R"j({"id":3,"ok":true,"result":{"echo":{}}})j");
}

BOOST_AUTO_TEST_CASE(slow_follower_is_dropped_without_blocking_publish) {
  TempDir d;
  ControlSocketLimits lim;
  lim.max_output = 64 * 1024;
  ControlSocket s(d.sock(), lim);
  s.start();
  ControlLoop loop(s);
  Client slow(d.sock()), fast(d.sock());
  slow.send("{\"id\":1,\"cmd\":\"follow\"}\n");
  fast.send("{\"id\":1,\"cmd\":\"follow\"}\n");
  slow.line();
  fast.line();
  const std::string payload(1000, 'z');
  std::atomic<int> fast_got{0};
  std::thread reader([&] {
    for (int i = 0; i < 4000; ++i) {
      auto l = fast.line();
      if (!l || l->find(payload) == std::string::npos) break;
      ++fast_got;
    }
  });
  // Publish in steps of 32 lines (32 KB), letting the fast follower catch up in
  // between, so it never falls max_output behind however loaded the machine is; the slow
  // one never reads. Only the time spent inside publish() counts.
  std::chrono::steady_clock::duration in_publish{};
  for (int i = 0; i < 4000; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    s.publish("{\"event\":\"x\",\"p\":\"" + payload + "\"}");
    in_publish += std::chrono::steady_clock::now() - t0;
    if (i % 32 == 31) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (fast_got < i + 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  reader.join();
  BOOST_TEST(fast_got == 4000);  // a reading follower gets every line
  BOOST_TEST(s.counters().subscribers_dropped == 1u);
  BOOST_TEST(s.counters().subscribers == 1u);
  BOOST_TEST(std::chrono::duration_cast<std::chrono::seconds>(in_publish).count() < 2);
  // The slow one gets what was buffered, then end of file.
  int lines = 0;
  while (slow.line()) ++lines;
  BOOST_TEST(lines < 4000);
}

BOOST_AUTO_TEST_CASE(socket_file_mode_stale_file_and_second_daemon) {
  TempDir d;
  {
    // A socket file nobody listens on (a daemon that was killed).
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, d.sock().c_str());
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);
  }
  {
    ControlSocket s(d.sock());  // replaces the stale file
    s.start();
    struct stat st {};
    BOOST_REQUIRE(::stat(d.sock().c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0660u);
    BOOST_TEST(S_ISSOCK(st.st_mode));
    try {
      ControlSocket second(d.sock());
      BOOST_FAIL("a second server on a live socket must be refused");
    } catch (const std::runtime_error& e) {
      BOOST_TEST(std::string(e.what()) ==
                 "control socket " + d.sock() +
                     ": another haystackd is already listening there (stop it, or give this "
                     "one its own state_dir or control.socket)");
    }
    BOOST_TEST(std::filesystem::exists(d.sock()));  // the refused one left it alone
  }
  BOOST_TEST(!std::filesystem::exists(d.sock()));  // removed on exit
  {
    std::ofstream(d.sock()) << "x";
    BOOST_CHECK_EXCEPTION(ControlSocket(d.sock()), std::runtime_error, [&](const auto& e) {
      return std::string(e.what()) == "control socket " + d.sock() +
                                          ": exists and is not a socket; remove it or set "
                                          "control.socket";
    });
  }
  BOOST_CHECK_THROW(ControlSocket(d.path.string() + "/" + std::string(120, 'a')),
                    std::runtime_error);
}

BOOST_AUTO_TEST_CASE(client_gone_before_its_answer) {
  TempDir d;
  ControlSocket s(d.sock());
  s.start();
  {
    Client c(d.sock());
    c.send("{\"id\":1,\"cmd\":\"echo\"}\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(s.dispatch(echo) == 1u);  // answered into the void, no crash
  ControlLoop loop(s);
  Client c(d.sock());
  c.send("{\"id\":2,\"cmd\":\"echo\"}\n");
  BOOST_TEST(*c.line() == R"j({"id":2,"ok":true,"result":{"echo":{}}})j");
  BOOST_TEST(s.counters().clients == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(control_commands)

BOOST_AUTO_TEST_CASE(time_arguments) {
  auto t = [](json v) { return ControlCommands::parse_time(v); };
  BOOST_TEST(*t("2026-11-01") == 1'793'491'200'000'000'000ULL);
  BOOST_TEST(*t("2026-11-01T10:00:00Z") == 1'793'527'200'000'000'000ULL);
  BOOST_TEST(*t("2026-11-01T10:00Z") == 1'793'527'200'000'000'000ULL);
  BOOST_TEST(*t("2026-11-01 10:00:01.5") == 1'793'527'201'500'000'000ULL);
  BOOST_TEST(*t("2026-11-01T10:00:00.000000001Z") == 1'793'527'200'000'000'001ULL);
  BOOST_TEST(*t(json(uint64_t{42})) == 42u);
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-11-01T25:00Z", "2026-11-01X",
                          "2026-11-01T10:00:00Zjunk"}) {
    BOOST_TEST(!t(bad).has_value(), bad);
  }
  BOOST_TEST(!t(json(-1)).has_value());
}

BOOST_AUTO_TEST_CASE(recent_alerts_ring_is_bounded) {
  RecentAlerts r(3);
  for (uint64_t i = 0; i < 5; ++i) r.add(i, "{\"n\":" + std::to_string(i) + "}");
  BOOST_TEST(r.entries().size() == 3u);
  BOOST_TEST(r.entries().front().time_ns == 2u);
  BOOST_TEST(r.evicted() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
