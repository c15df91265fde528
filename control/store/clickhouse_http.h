// ClickHouseHttp: one connection to ClickHouse's HTTP interface (libcurl, keep-alive).
// A statement travels in the `query` URL parameter, data (RowBinary rows) in the POST
// body. Not thread-safe: each thread that talks to the server owns one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace haystack::store {

struct HttpResult {
  bool ok = false;    // transport succeeded and the server answered 200
  long status = 0;    // HTTP status, 0 when no answer
  std::string body;   // the answer (the server's error text when status != 200)
  std::string error;  // what went wrong, for logs and exceptions
};

class ClickHouseHttp {
 public:
  // url: e.g. http://127.0.0.1:8123; an empty user sends no credentials.
  ClickHouseHttp(std::string url, std::string user, std::string password, uint32_t timeout_ms);
  ~ClickHouseHttp();
  ClickHouseHttp(const ClickHouseHttp&) = delete;
  ClickHouseHttp& operator=(const ClickHouseHttp&) = delete;

  HttpResult post(std::string_view query, std::string_view body = {});
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::string user_;
  std::string password_;
  uint32_t timeout_ms_;
  void* curl_ = nullptr;  // CURL*, kept for connection reuse
};

}  // namespace haystack::store
