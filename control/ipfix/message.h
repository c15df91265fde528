// RFC 7011 message encoding: templates, data records, sets with padding, and messages
// that never exceed a size limit (the UDP path MTU). Pure C++, no I/O.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "control/ipfix/ie.h"

namespace haystack::ipfix {

struct Field {
  uint16_t id = 0;
  uint16_t length = 0;  // kVariableLength: RFC 7011 §7 length prefix per record
  uint32_t pen = 0;     // 0: IANA; otherwise enterprise-specific (E bit set on the wire)
};

struct Template {
  uint16_t id = 0;
  uint16_t scope_fields = 0;  // > 0: options template (the first scope_fields are scope)
  std::vector<Field> fields;

  bool options() const { return scope_fields > 0; }
  std::vector<uint8_t> encode() const;  // the template record (without set header)
};

// Appends fields of one data record in network byte order.
class RecordWriter {
 public:
  explicit RecordWriter(std::vector<uint8_t>& out) : out_(out) {}
  void u8(uint8_t v) { out_.push_back(v); }
  void boolean(bool v) { u8(v ? 1 : 2); }  // RFC 7011 §6.1.5: 1 true, 2 false
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  // Variable-length string: 1-byte length below 255, else 255 + 2-byte length.
  void string(std::string_view s);

 private:
  std::vector<uint8_t>& out_;
};

struct Message {
  std::vector<uint8_t> bytes;
  uint32_t data_records = 0;
};

// Packs records into messages of at most `max_bytes` (rounded down to a multiple of 4).
// Consecutive records of one set id share a set; every set is zero-padded to 4 bytes
// (our shortest record is longer than 3, as §3.3.1 requires). Sequence number: data
// records sent before the message in this stream (§3.1), modulo 2^32.
class MessageBuilder {
 public:
  static constexpr size_t kHeaderBytes = 16;
  static constexpr size_t kSetHeaderBytes = 4;

  MessageBuilder(uint32_t observation_domain, size_t max_bytes);

  void set_export_time(uint32_t unix_seconds) { export_time_ = unix_seconds; }
  void add_template(const Template& t);
  // One encoded data record of template `template_id`. Throws std::length_error if it
  // cannot fit even an empty message.
  void add_record(uint16_t template_id, std::span<const uint8_t> record);
  // Closes the open message and hands over every finished one.
  std::vector<Message> take();

  uint32_t sequence() const { return sequence_; }
  void reset_sequence() { sequence_ = 0; }  // a new TCP connection is a new stream
  size_t max_bytes() const { return max_; }

 private:
  void add(uint16_t set_id, std::span<const uint8_t> bytes, bool data);
  void close_set();
  void close_message();

  uint32_t domain_;
  size_t max_;
  uint32_t export_time_ = 0;
  uint32_t sequence_ = 0;
  uint32_t message_sequence_ = 0;  // sequence_ when the open message began
  std::vector<uint8_t> cur_;       // open message; empty when none
  size_t set_start_ = 0;
  uint16_t set_id_ = 0;  // 0: no open set
  std::vector<Message> done_;
};

}  // namespace haystack::ipfix
