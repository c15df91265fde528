#include "control/ipfix/transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace haystack::ipfix {

namespace {
std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}
}  // namespace

bool Transport::open(int timeout_ms) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = tcp_ ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(port_);
  if (int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error_ = "resolve " + host_ + ": " + gai_strerror(rc);
    return false;
  }
  const addrinfo* a = res;
  fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error_ = errno_text("socket");
    freeaddrinfo(res);
    return false;
  }
  ipv6_ = a->ai_family == AF_INET6;
  int rc = ::connect(fd_, a->ai_addr, a->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd_, POLLOUT, 0};
    rc = ::poll(&p, 1, timeout_ms);
    int err = ETIMEDOUT;
    socklen_t len = sizeof err;
    if (rc == 1) getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    errno = err;
    rc = err == 0 ? 0 : -1;
  }
  if (rc != 0) {
    error_ = errno_text("connect");
    close();
    return false;
  }
  if (tcp_) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  error_.clear();
  return true;
}

bool Transport::send(std::span<const uint8_t> msg, int timeout_ms) {
  if (fd_ < 0) return false;
  size_t off = 0;
  while (off < msg.size()) {
    ssize_t n = ::send(fd_, msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, timeout_ms) == 1) continue;
      error_ = "send: collector did not accept data for " + std::to_string(timeout_ms) + " ms";
      return false;
    }
    error_ = errno_text("send");
    return false;
  }
  return true;
}

void Transport::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace haystack::ipfix
