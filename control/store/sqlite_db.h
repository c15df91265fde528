// Thin RAII wrapper over the SQLite C API: a connection and prepared statements whose
// errors become std::runtime_error naming the database file. Nothing Haystack-specific.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace haystack::store {

struct SqliteError : std::runtime_error {
  SqliteError(const std::string& msg, int code) : std::runtime_error(msg), code(code) {}
  int code;  // SQLite primary result code
};

class SqliteDb;

class Stmt {
 public:
  Stmt(SqliteDb& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binds by 1-based position.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind_blob(int i, std::span<const uint8_t> v);
  // Binds every argument in order (int64-convertible integers, doubles, strings).
  template <typename... A>
  Stmt& args(const A&... a) {
    int i = 0;
    (bind_one(++i, a), ...);
    return *this;
  }

  bool step();  // true: a row is available
  void run() {  // executes to completion and resets for reuse
    while (step()) {
    }
    reset();
  }
  void reset();

  int64_t i64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  std::vector<uint8_t> blob(int col) const;
  bool null(int col) const;

 private:
  template <typename T>
  void bind_one(int i, const T& v) {
    if constexpr (std::is_floating_point_v<T>) {
      bind(i, double(v));
    } else if constexpr (std::is_integral_v<T>) {
      bind(i, int64_t(v));
    } else {
      bind(i, std::string_view(v));
    }
  }
  void check(int rc) const;

  SqliteDb& db_;
  sqlite3_stmt* s_ = nullptr;
};

class SqliteDb {
 public:
  // Throws SqliteError naming the path when the file cannot be opened.
  SqliteDb(const std::string& path, bool read_only);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(std::string_view sql);  // one or more statements without results
  // First column of the first row as integer / text; nullopt when there is no row.
  std::optional<int64_t> scalar(std::string_view sql);
  std::optional<std::string> scalar_text(std::string_view sql);
  int64_t changes() const;

  [[noreturn]] void fail(int rc, std::string_view what) const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception).
class Transaction {
 public:
  explicit Transaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  ~Transaction();
  void commit() {
    db_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace haystack::store
