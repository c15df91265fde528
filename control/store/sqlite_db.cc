#include "control/store/sqlite_db.h"

#include <sqlite3.h>

namespace haystack::store {

SqliteDb::SqliteDb(const std::string& path, bool read_only) : path_(path) {
  const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(path + ": cannot open SQLite database: " + msg, rc);
  }
  sqlite3_extended_result_codes(db_, 0);
  sqlite3_busy_timeout(db_, 5000);  // readers (sqlite3 CLI, haystack-flowtree) may hold locks
}

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);
}

void SqliteDb::fail(int rc, std::string_view what) const {
  std::string msg = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
  if (rc == SQLITE_NOTADB)
    msg = path_ + ": not a SQLite database (or corrupt): " + sqlite3_errmsg(db_);
  if (rc == SQLITE_CORRUPT) msg = path_ + ": database is corrupt: " + sqlite3_errmsg(db_);
  throw SqliteError(msg, rc);
}

void SqliteDb::exec(std::string_view sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) fail(rc, std::string(sql.substr(0, 60)));
}

std::optional<int64_t> SqliteDb::scalar(std::string_view sql) {
  Stmt s(*this, sql);
  if (!s.step() || s.null(0)) return std::nullopt;
  return s.i64(0);
}

std::optional<std::string> SqliteDb::scalar_text(std::string_view sql) {
  Stmt s(*this, sql);
  if (!s.step() || s.null(0)) return std::nullopt;
  return s.text(0);
}

int64_t SqliteDb::changes() const {
  return sqlite3_changes64(db_);
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Stmt::Stmt(SqliteDb& db, std::string_view sql) : db_(db) {
  const int rc = sqlite3_prepare_v2(db.handle(), sql.data(), int(sql.size()), &s_, nullptr);
  if (rc != SQLITE_OK) db_.fail(rc, "prepare '" + std::string(sql.substr(0, 60)) + "'");
}

Stmt::~Stmt() {
  sqlite3_finalize(s_);
}

void Stmt::check(int rc) const {
  if (rc != SQLITE_OK) db_.fail(rc, "bind");
}

Stmt& Stmt::bind(int i, int64_t v) {
  check(sqlite3_bind_int64(s_, i, v));
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  check(sqlite3_bind_double(s_, i, v));
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  check(sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}
Stmt& Stmt::bind_blob(int i, std::span<const uint8_t> v) {
  check(sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT));
  return *this;
}

bool Stmt::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(s_) ? sqlite3_sql(s_) : "";
  sqlite3_reset(s_);
  db_.fail(rc, "'" + sql.substr(0, 60) + "'");
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(s_, col);
}
double Stmt::real(int col) const {
  return sqlite3_column_double(s_, col);
}
bool Stmt::null(int col) const {
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}
std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(s_, col)))
           : std::string();
}
std::vector<uint8_t> Stmt::blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s_, col));
  return p ? std::vector<uint8_t>(p, p + sqlite3_column_bytes(s_, col)) : std::vector<uint8_t>();
}

}  // namespace haystack::store
