// A socket to the IPFIX collector: UDP (connected datagram socket, one message per
// datagram) or TCP (a stream of messages). Blocking calls are bounded by timeouts so the
// exporter thread can always stop; nothing here runs on the control thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace haystack::ipfix {

class Transport {
 public:
  Transport(std::string host, uint16_t port, bool tcp)
      : host_(std::move(host)), port_(port), tcp_(tcp) {}
  ~Transport() { close(); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Resolves and connects (TCP: waits up to timeout_ms). False with error() on failure.
  bool open(int timeout_ms);
  // Sends one whole message. False with error() on failure (the caller closes TCP).
  bool send(std::span<const uint8_t> msg, int timeout_ms);
  void close();

  bool is_open() const { return fd_ >= 0; }
  bool tcp() const { return tcp_; }
  bool ipv6() const { return ipv6_; }
  const std::string& error() const { return error_; }

 private:
  std::string host_;
  uint16_t port_;
  bool tcp_;
  bool ipv6_ = false;
  int fd_ = -1;
  std::string error_;
};

}  // namespace haystack::ipfix
