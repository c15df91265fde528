#include "dataplane/worker_core.h"

#include <stdexcept>

namespace haystack {

WorkerCore::WorkerCore(uint32_t worker_id, uint32_t queues, const SamplingConfig& s,
                       uint64_t bin_ns, BinExchange& exchange, WorkerCounters& counters,
                       uint32_t flow_set_capacity, IotSettings iot,
                       const LearningSettings& learning)
    : id_(worker_id),
      hash_mode_(s.method == SampleMethod::kHash),
      hash_seed_(s.hash_seed),
      clock_(bin_ns),
      exchange_(exchange),
      c_(counters),
      flows_(flow_set_capacity),
      iot_(std::move(iot)),
      learner_(worker_id, learning) {
  bin_ = exchange_.acquire();
  if (bin_ == nullptr) throw std::runtime_error("worker core: bin record pool is empty");
  flow_samplers_.assign(queues == 0 ? 1 : queues, Sampler(s.method, s.flow_rate, s.hash_seed));
  iot_samplers_.assign(queues == 0 ? 1 : queues, Sampler(s.method, s.iot_rate, s.hash_seed));
}

PacketVerdict WorkerCore::on_packet(uint32_t queue, const uint8_t* data, uint32_t caplen,
                                    uint32_t wire_len, uint64_t ts_ns, ParsedPacket& pkt) {
  if (clock_.crosses(ts_ns)) [[unlikely]] roll_bin(ts_ns);
  if (ts_ns < clock_.current_start()) [[unlikely]] c_.late_packets.add();

  c_.rx_packets.add();
  c_.rx_bytes.add(wire_len);
  bin_->packets++;
  bin_->bytes += wire_len;

  PacketVerdict v;
  v.error = parse_packet(data, caplen, pkt);
  if (v.error != ParseError::kOk) [[unlikely]] {
    c_.parse_errors.add();
    c_.parse_error[static_cast<size_t>(v.error)].add();
    bin_->parse_errors++;
    return v;
  }
  if (pkt.vlan_count) c_.vlan_packets.add();
  if (pkt.mpls_labels) c_.mpls_packets.add();
  if (pkt.pppoe) c_.pppoe_packets.add();
  if (pkt.l3 == L3::kNone) {
    c_.non_ip_packets.add();
    return v;
  }
  v.ip = true;
  bin_->ip_packets++;
  (pkt.l3 == L3::kIpv4 ? c_.ipv4_packets : c_.ipv6_packets).add();
  switch (pkt.proto) {
    case ipproto::kTcp: c_.tcp_packets.add(); break;
    case ipproto::kUdp: c_.udp_packets.add(); break;
    case ipproto::kIcmp: c_.icmp_packets.add(); break;
    case ipproto::kIcmpv6: c_.icmpv6_packets.add(); break;
    case ipproto::kGre: c_.gre_packets.add(); break;
    default: c_.other_l4_packets.add(); break;
  }
  if (pkt.fragment) {
    c_.fragments.add();
    if (!pkt.first_fragment) c_.non_first_fragments.add();
  }
  if (pkt.tunnel == Tunnel::kVxlan) c_.vxlan_packets.add();
  if (pkt.tunnel == Tunnel::kGeneve) c_.geneve_packets.add();

  Sampler& fs = flow_samplers_[queue];
  Sampler& is = iot_samplers_[queue];
  if (hash_mode_) {
    uint64_t h = invariant_hash(pkt, hash_seed_);
    v.flow_sampled = fs.sample_hashed(h);
    v.iot_sampled = is.sample_hashed(h);
  } else {
    v.flow_sampled = fs.sample_hashed(0);
    v.iot_sampled = is.sample_hashed(0);
  }
  if (v.flow_sampled) {
    c_.sampled_flow.add();
    bin_->sampled_flow++;
    uint32_t new_flow = 0;
    switch (flows_.insert(flow_tuple_hash(pkt))) {
      case FlowSet::Result::kNew:
        new_flow = 1;
        c_.new_flows.add();
        bin_->new_flows++;
        break;
      case FlowSet::Result::kFull: c_.flow_set_full.add(); break;
      case FlowSet::Result::kSeen: break;
    }
    for (auto& t : bin_->trees) t.add(pkt, wire_len, new_flow);
  }
  if (v.iot_sampled) {
    c_.sampled_iot.add();
    bin_->sampled_iot++;
    if (iot_.table != nullptr) observe_iot(iot_, pkt, wire_len, ts_ns, bin_->iot, c_);
    if (iot_.eui64 && pkt.l3 == L3::kIpv6) observe_eui64(iot_, pkt, bin_->eui, c_);
  }
  // Learning looks at every packet by default: one DNS answer is worth more than many
  // sampled data packets.
  if (learner_.settings().enabled && (learner_.settings().every_packet || v.iot_sampled))
    learner_.observe(pkt, data, ts_ns, bin_->hitlist_generation, c_);
  return v;
}

void WorkerCore::advance(uint64_t now_ns) {
  if (clock_.is_open() && now_ns >= clock_.current_end()) roll_bin(now_ns);
}

void WorkerCore::flush() {
  // Once handed over, the next packet opens a bin afresh (possibly the same one again).
  if (clock_.is_open() && publish_current()) {
    clock_.close();
    if (iot_.source != nullptr) iot_.source->release();
  }
}

void WorkerCore::roll_bin(uint64_t ts_ns) {
  bool was_open = clock_.is_open();
  if (was_open && !publish_current()) {
    clock_.open(ts_ns);
    // Could not hand the bin over: keep accumulating into it, so it now also covers
    // the new bin. Coarser, but no packet is lost; the reason is counted.
    bin_->end_ns = clock_.current_end();
    return;
  }
  clock_.open(ts_ns);
  exchange_.entering_bin(clock_.current_start());
  flows_.clear();
  bin_->reset(id_, clock_.current_start(), clock_.current_end());
  if (iot_.source != nullptr) {
    HitlistView v = iot_.source->adopt();
    iot_.table = v.table;
    bin_->hitlist_generation = v.generation;
    learner_.set_matcher(v.names);
  }
}

// Publishes the open record and switches to a fresh one. False (and counted) when no
// fresh record is available or the ring to control is full; bin_ is then unchanged.
bool WorkerCore::publish_current() {
  BinRecord* fresh = exchange_.acquire();
  if (fresh == nullptr) {
    c_.bin_pool_empty.add();
    return false;
  }
  if (!exchange_.publish(bin_)) {
    exchange_.release(fresh);
    c_.bin_ring_full.add();
    return false;
  }
  c_.bins_closed.add();
  bin_ = fresh;
  return true;
}

}  // namespace haystack
