#include "control/ipfix/message.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace haystack::ipfix {

namespace {
void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}
}  // namespace

void RecordWriter::u16(uint16_t v) {
  out_.push_back(uint8_t(v >> 8));
  out_.push_back(uint8_t(v));
}
void RecordWriter::u32(uint32_t v) {
  u16(uint16_t(v >> 16));
  u16(uint16_t(v));
}
void RecordWriter::u64(uint64_t v) {
  u32(uint32_t(v >> 32));
  u32(uint32_t(v));
}
void RecordWriter::string(std::string_view s) {
  if (s.size() > 0xffff) s = s.substr(0, 0xffff);
  if (s.size() < 255) {
    u8(uint8_t(s.size()));
  } else {
    u8(255);
    u16(uint16_t(s.size()));
  }
  bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::vector<uint8_t> Template::encode() const {
  std::vector<uint8_t> b;
  RecordWriter w(b);
  w.u16(id);
  w.u16(uint16_t(fields.size()));
  if (options()) w.u16(scope_fields);
  for (const Field& f : fields) {
    w.u16(f.pen ? uint16_t(f.id | kEnterpriseBit) : f.id);
    w.u16(f.length);
    if (f.pen) w.u32(f.pen);
  }
  return b;
}

MessageBuilder::MessageBuilder(uint32_t observation_domain, size_t max_bytes)
    : domain_(observation_domain), max_(std::min<size_t>(max_bytes, 65535) & ~size_t{3}) {
  if (max_ < kHeaderBytes + kSetHeaderBytes + 4) {
    throw std::invalid_argument("IPFIX message limit of " + std::to_string(max_bytes) +
                                " bytes is too small");
  }
}

void MessageBuilder::add_template(const Template& t) {
  const std::vector<uint8_t> rec = t.encode();
  add(t.options() ? kOptionsTemplateSetId : kTemplateSetId, rec, false);
}

void MessageBuilder::add_record(uint16_t template_id, std::span<const uint8_t> record) {
  add(template_id, record, true);
}

void MessageBuilder::add(uint16_t set_id, std::span<const uint8_t> bytes, bool data) {
  const auto fits = [&](size_t extra) { return ((cur_.size() + extra + 3) & ~size_t{3}) <= max_; };
  if (kHeaderBytes + kSetHeaderBytes + bytes.size() > max_) {
    throw std::length_error("IPFIX record of " + std::to_string(bytes.size()) +
                            " bytes does not fit a message of " + std::to_string(max_));
  }
  if (!cur_.empty() && set_id_ == set_id && !fits(bytes.size())) close_message();
  if (!cur_.empty() && set_id_ != set_id) {
    close_set();
    if (!fits(kSetHeaderBytes + bytes.size())) close_message();
  }
  if (cur_.empty()) {
    cur_.resize(kHeaderBytes);
    message_sequence_ = sequence_;
  }
  if (set_id_ == 0) {
    set_start_ = cur_.size();
    set_id_ = set_id;
    cur_.resize(cur_.size() + kSetHeaderBytes);
    put16(cur_, set_start_, set_id);
  }
  cur_.insert(cur_.end(), bytes.begin(), bytes.end());
  if (data) ++sequence_;
}

void MessageBuilder::close_set() {
  if (set_id_ == 0) return;
  while (cur_.size() % 4 != 0) cur_.push_back(0);  // padding (§3.3.1)
  put16(cur_, set_start_ + 2, uint16_t(cur_.size() - set_start_));
  set_id_ = 0;
}

void MessageBuilder::close_message() {
  if (cur_.empty()) return;
  close_set();
  std::vector<uint8_t> h;
  RecordWriter w(h);
  w.u16(kVersion);
  w.u16(uint16_t(cur_.size()));
  w.u32(export_time_);
  w.u32(message_sequence_);
  w.u32(domain_);
  std::copy(h.begin(), h.end(), cur_.begin());
  done_.push_back(Message{std::move(cur_), sequence_ - message_sequence_});
  cur_.clear();
}

std::vector<Message> MessageBuilder::take() {
  close_message();
  return std::exchange(done_, {});
}

}  // namespace haystack::ipfix
