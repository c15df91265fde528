#include "control/store/clickhouse_http.h"

#include <curl/curl.h>

#include <algorithm>

#include <mutex>

namespace haystack::store {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

ClickHouseHttp::ClickHouseHttp(std::string url, std::string user, std::string password,
                               uint32_t timeout_ms)
    : url_(std::move(url)),
      user_(std::move(user)),
      password_(std::move(password)),
      timeout_ms_(timeout_ms) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  global_init();
}

ClickHouseHttp::~ClickHouseHttp() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpResult ClickHouseHttp::post(std::string_view query, std::string_view body) {
  HttpResult r;
  if (curl_ == nullptr) curl_ = curl_easy_init();
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    r.error = "cannot create a libcurl handle";
    return r;
  }
  curl_easy_reset(c);
  char* q = curl_easy_escape(c, query.data(), int(query.size()));
  const std::string url = url_ + "/?query=" + (q ? q : "");
  curl_free(q);
  char err[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, long(timeout_ms_));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, long(std::min<uint32_t>(timeout_ms_, 5000)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
  // No "Expect: 100-continue" round trip before large bodies.
  curl_slist* headers = curl_slist_append(nullptr, "Expect:");
  headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (!user_.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, long(CURLAUTH_BASIC));
    curl_easy_setopt(c, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password_.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    r.error = url_ + ": " + (err[0] ? std::string(err) : std::string(curl_easy_strerror(rc)));
    return r;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.ok = r.status == 200;
  if (!r.ok) {
    std::string first = r.body.substr(0, r.body.find('\n'));
    if (first.size() > 300) first.resize(300);
    r.error = url_ + ": HTTP " + std::to_string(r.status) + ": " + first;
  }
  return r;
}

}  // namespace haystack::store
