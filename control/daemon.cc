#include "control/daemon.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <map>
#include <memory>
#include <thread>

#include <sched.h>
#include <sys/stat.h>

#include "control/alert_sink.h"
#include "control/config.h"
#include "control/control_commands.h"
#include "control/control_socket.h"
#include "control/flowql/error.h"
#include "control/flowql/executor.h"
#include "control/ddos_detector.h"
#include "control/flow_summaries.h"
#include "control/eui64_pipeline.h"
#include "control/iot_pipeline.h"
#include "control/learning_pipeline.h"
#include "control/ipfix/exporter.h"
#include "control/metrics.h"
#include "control/telemetry_commands.h"
#include "control/store/open_store.h"
#include "control/tree_store.h"
#include "control/stats_json.h"
#include "dataplane/dpdk/eal_args.h"
#include "dataplane/dpdk/hitlist_rcu.h"
#include "dataplane/dpdk/learn_ring.h"
#include "dataplane/dpdk/port.h"
#include "dataplane/dpdk/worker.h"
#include "haystack_version.h"
#include "signatures/hitlist_loader.h"
#include "telemetry/logging.h"

namespace haystack {

namespace {

std::atomic<bool> g_signal_stop{false};
std::atomic<int> g_signal_no{0};
std::atomic<bool> g_signal_reload{false};

void on_signal(int sig) {
  g_signal_no.store(sig);
  g_signal_stop.store(true);
}

void on_sighup(int) { g_signal_reload.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_sighup;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
}

// Every rx_pcap=/tx_pcap= file of a net_pcap vdev, checked before EAL probes the device
// so a typo gives a message naming the file instead of a generic probe failure.
void check_pcap_files(const Config& c) {
  for (size_t i = 0; i < c.ports.size(); ++i) {
    const PortConfig& p = c.ports[i];
    if (p.device.rfind("net_pcap", 0) != 0) continue;
    size_t pos = 0;
    std::string d = p.device + ",";
    while ((pos = d.find("rx_pcap=", pos)) != std::string::npos) {
      size_t start = pos + 8, end = d.find(',', start);
      std::string file = d.substr(start, end - start);
      struct stat st {};
      // A FIFO is fine (a live feed into net_pcap); opening it here would block.
      bool fifo = ::stat(file.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
      std::ifstream f;
      if (!fifo) f.open(file, std::ios::binary);
      if (!fifo && !f) {
        throw ConfigError(c.source_file, p.line, "ports[" + std::to_string(i) + "].device",
                          "cannot read pcap file '" + file + "': " + std::strerror(errno));
      }
      pos = end;
    }
  }
}

struct WorkerSlot {
  unsigned lcore = 0;
  std::unique_ptr<RingBinExchange> exchange;
  std::unique_ptr<LearnRing> learn;  // on-the-wire learning; outlives the worker
  std::unique_ptr<Worker> worker;
};

struct LaunchArg {
  Worker* worker;
  const std::atomic<bool>* stop;
};

int worker_main(void* arg) {
  auto* a = static_cast<LaunchArg*>(arg);
  return a->worker->run(*a->stop);
}

struct ReloadResult {
  bool ok = false;
  uint64_t generation = 0;  // the active generation afterwards
  std::string error;        // why the bundle was rejected
};

class Daemon {
 public:
  Daemon(const DaemonOptions& opt, Config cfg) : opt_(opt), cfg_(std::move(cfg)) {}
  int run();
  // Loads, validates and compiles `path` on the control thread, publishes it to the
  // workers and alerts either way; a bad bundle leaves the active generation in place.
  ReloadResult reload_hitlist(const std::string& path, const std::string& trigger);

 private:
  void check_worker_cpus();
  void resolve_workers();
  void open_ports();
  void plan_workers();
  void control_loop();
  void drain_bins();
  void drain_learning();
  void publish_learned(hitlist::Bundle b);
  void check_drops(uint64_t now_ns);
  uint64_t total_rx() const;
  uint64_t event_time_ns() const;
  StatsSnapshot snapshot();
  void publish_telemetry_views();
  void write_stats();
  void start_control_socket();
  std::vector<flowtree::FlowtreeConfig> tree_configs(uint32_t worker) const;
  void on_site_trees(const SiteTrees& s);
  void open_store_backend();
  void record_generation(const hitlist::Generation& g, const std::string& trigger);
  const flowql::TreeSource* tree_source() const;

  const DaemonOptions& opt_;
  Config cfg_;
  ClockSource clock_ = ClockSource::kWall;
  std::vector<unsigned> worker_lcores_;
  std::vector<std::unique_ptr<Port>> ports_;
  std::vector<WorkerSlot> slots_;
  std::vector<LaunchArg> launch_args_;
  std::atomic<bool> stop_workers_{false};
  std::atomic<bool> abort_workers_{false};  // error path: workers must not wait for control
  std::atomic<uint64_t> horizon_{0};        // replay: latest bin start a worker may open
  std::unique_ptr<AlertSink> alerts_;
  std::map<uint64_t, BinTotals> bins_;
  ControlCounters control_;
  std::vector<PortStats> last_port_stats_;
  uint64_t last_event_ns_ = 0;  // latest bin end seen (packet clock) for alert times
  std::vector<uint64_t> ring_full_seen_;
  std::vector<uint64_t> iot_full_seen_;
  std::unique_ptr<FlowSummaries> summaries_;
  std::unique_ptr<TreeStore> tree_files_;      // flowtree.persist: .ftr files
  std::unique_ptr<store::Store> store_;        // the store backend (null: none)
  std::unique_ptr<flowql::TreeSource> tree_file_source_;  // queries without a store
  std::unique_ptr<DdosDetector> ddos_;
  std::unique_ptr<IotPipeline> iot_;
  std::unique_ptr<HitlistRcu> hitlist_rcu_;
  std::unique_ptr<Eui64Pipeline> eui_;
  std::unique_ptr<LearningPipeline> learning_;
  std::vector<LearnRecord> learn_buf_;
  std::unique_ptr<prom::HttpExporter> exporter_;
  std::unique_ptr<ipfix::Exporter> ipfix_;
  std::unique_ptr<ControlSocket> socket_;
  std::unique_ptr<ControlCommands> commands_;
  RecentAlerts recent_alerts_;
  bool input_idle_ = false;  // every worker idle at the last drain_bins
};

// Without -l/--lcores from the operator, haystackd passes `-l 0,<workers>` to EAL, where
// lcore ids are CPU ids: say which CPU is missing instead of a bare EAL failure.
void Daemon::check_worker_cpus() {
  EalPlan probe = build_eal_args(opt_.prog, opt_.eal_args, {}, {});
  if (probe.lcores_from_user) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
  std::vector<unsigned> ids(cfg_.workers.begin(), cfg_.workers.end());
  ids.push_back(0);
  for (unsigned id : ids) {
    if (id >= CPU_SETSIZE || !CPU_ISSET(id, &set)) {
      throw ConfigError(cfg_.source_file, cfg_.workers_line, "workers",
                        fmt::format("lcore {} is not a CPU this process may run on ({} usable); "
                                    "map lcores onto CPUs with EAL --lcores, e.g. "
                                    "`-- --lcores 0@0,{}@1`",
                                    id, CPU_COUNT(&set), id));
    }
  }
}

// The configured worker lcores, or every EAL worker lcore; each must be enabled in EAL.
void Daemon::resolve_workers() {
  if (cfg_.workers.empty()) {
    unsigned id;
    RTE_LCORE_FOREACH_WORKER(id) { worker_lcores_.push_back(id); }
  } else {
    for (uint32_t id : cfg_.workers) {
      if (id >= RTE_MAX_LCORE || !rte_lcore_is_enabled(id)) {
        throw ConfigError(cfg_.source_file, cfg_.workers_line, "workers",
                          fmt::format("lcore {} is not enabled in EAL (enabled: main {} plus "
                                      "{} workers; adjust `workers` or -l/--lcores)",
                                      id, rte_get_main_lcore(), rte_lcore_count() - 1));
      }
      if (id == rte_get_main_lcore()) {
        throw ConfigError(cfg_.source_file, cfg_.workers_line, "workers",
                          fmt::format("lcore {} is the main lcore, which runs control", id));
      }
      worker_lcores_.push_back(id);
    }
  }
  if (worker_lcores_.empty()) {
    throw ConfigError(cfg_.source_file, cfg_.workers_line, "workers",
                      "no worker lcore: EAL has only the main lcore (give -l with two or more)");
  }
}

void Daemon::open_ports() {
  for (const auto& pc : cfg_.ports) {
    PortSetup s;
    s.name = pc.name;
    s.dpdk_name = pc.dpdk_name();
    s.rx_queues = pc.rx_queues;
    s.rx_descriptors = pc.rx_descriptors;
    s.promiscuous = pc.promiscuous;
    s.mbufs = cfg_.mempool_mbufs;
    s.mbuf_cache = cfg_.mempool_cache;
    s.data_room = cfg_.mbuf_data_room;
    s.want_timestamps = clock_ == ClockSource::kPacket;
    if (pc.xdp_sample_rate != 0) {
      s.xdp_iface = device_arg(pc.device, "iface");
      s.xdp = {pc.xdp_sample_rate, pc.xdp_drop_unsampled};
    }
    ports_.push_back(std::make_unique<Port>(s));
    if (clock_ == ClockSource::kPacket && !ports_.back()->info().rx_timestamps) {
      throw ConfigError(cfg_.source_file, pc.line, "clock",
                        fmt::format("clock is packet but port '{}' (driver {}) does not "
                                    "deliver epoch RX timestamps (only net_pcap does); use "
                                    "clock: wall",
                                    pc.name, ports_.back()->info().driver));
    }
  }
  last_port_stats_.resize(ports_.size());
}

// Tree configuration per feature set. Worker trees get a per-core RNG seed (worker 0..W-1;
// kSiteSeed for control's site trees), so replay is deterministic.
using store::kSiteSeed;
std::vector<flowtree::FlowtreeConfig> Daemon::tree_configs(uint32_t worker) const {
  return store::tree_configs_for(cfg_, worker);
}

// Every completed site tree set: persisted, and bins checked for amplification attacks.
void Daemon::on_site_trees(const SiteTrees& s) {
  if (tree_files_) tree_files_->write(s);
  if (store_) store_->put_trees(s);
  if (ipfix_) ipfix_->on_site_trees(s);
  if (ddos_ && s.seconds == cfg_.bin_seconds) {
    for (Alert& a : ddos_->check(s)) alerts_->emit(a);
  }
}

// The store backend gets every completed summary: trees (on_site_trees), IoT windows,
// EUI-64 windows, alerts (the alert listener) and hitlist generations.
void Daemon::open_store_backend() {
  // The SQLite store builds the roll-ups itself from committed bins (restart-safe); they
  // reach the tree files and IPFIX from here, as the in-memory ones do without a store.
  store_ = store::open_store(cfg_, [this](const SiteTrees& s) {
    if (tree_files_) tree_files_->write(s);
    if (ipfix_) ipfix_->on_site_trees(s);
  });
  if (!store_) return;
  spdlog::info("store: {}", store_->backend_name());
  if (iot_) {
    iot_->add_report_sink([this](const auto& r) { store_->put_windows(r); });
    record_generation(*iot_->current(), "start");
  }
  if (eui_) eui_->add_report_sink([this](const auto& r) { store_->put_eui64(r); });
}

void Daemon::record_generation(const hitlist::Generation& g, const std::string& trigger) {
  if (!store_) return;
  const hitlist::Bundle& b = *g.bundle;
  store::HitlistGenerationRow row;
  row.number = g.number;
  row.path = g.path;
  row.valid_from = b.valid_from;
  row.valid_until = b.valid_until;
  row.services = b.services.size();
  row.endpoints = b.endpoints.size();
  row.loaded_ns = wall_clock_ns();
  row.trigger = trigger;
  store_->put_hitlist_generation(row);
}

// Queries read the store when there is one, else the tree files (flowtree.persist).
const flowql::TreeSource* Daemon::tree_source() const {
  if (store_) return store_.get();
  return tree_file_source_.get();
}

// Spreads every (port, queue) over the workers round-robin, in config order.
void Daemon::plan_workers() {
  std::vector<WorkerQueue> all;
  for (const auto& p : ports_) {
    for (uint16_t q = 0; q < p->info().rx_queues; ++q) {
      all.push_back(WorkerQueue{p->id(), q, p->info().name, p->info().ts_to_ns});
    }
  }
  if (all.size() < worker_lcores_.size()) {
    throw ConfigError(cfg_.source_file, cfg_.workers_line, "workers",
                      fmt::format("{} worker lcores but only {} RX queues in total; every "
                                  "worker needs at least one queue (raise ports[].rx_queues)",
                                  worker_lcores_.size(), all.size()));
  }
  for (size_t w = 0; w < worker_lcores_.size(); ++w) {
    WorkerSpec spec;
    spec.worker_id = uint32_t(w);
    spec.lcore = worker_lcores_[w];
    for (size_t i = w; i < all.size(); i += worker_lcores_.size()) spec.queues.push_back(all[i]);
    spec.burst = cfg_.burst_size;
    spec.packet_clock = clock_ == ClockSource::kPacket;
    spec.sampling = cfg_.sampling;
    spec.bin_ns = uint64_t(cfg_.bin_seconds) * 1'000'000'000ULL;
    WorkerSlot slot;
    slot.lcore = spec.lcore;
    spec.flow_set_capacity = cfg_.flowtree.flow_table_size;
    if (iot_) {
      spec.iot = iot_->worker_settings();
      spec.iot.source = &hitlist_rcu_->source(uint32_t(w));
      if (learning_) {
        slot.learn = std::make_unique<LearnRing>(spec.worker_id, cfg_.learning.ring_size);
        spec.learning = learning_->worker_settings();
        spec.learning.sink = slot.learn.get();
      }
    } else {
      spec.iot = subscriber_settings(cfg_);
    }
    slot.exchange = std::make_unique<RingBinExchange>(
        spec.worker_id, cfg_.bin_ring_size, cfg_.bin_records, tree_configs(spec.worker_id),
        iot_ ? cfg_.iot.lines_per_worker : 0,
        cfg_.eui64.enabled ? cfg_.eui64.entries_per_worker : 0);
    // Replay never widens bins for lack of a record: the worker waits for control.
    if (spec.packet_clock) {
      slot.exchange->set_blocking(&abort_workers_);
      slot.exchange->set_horizon(&horizon_);
    }
    slot.worker = std::make_unique<Worker>(spec, *slot.exchange);
    std::string qs;
    for (const auto& q : spec.queues) qs += fmt::format(" {}/{}", q.port_name, q.queue);
    spdlog::info("worker {} on lcore {}: queues{}", spec.worker_id, spec.lcore, qs);
    slots_.push_back(std::move(slot));
  }
}

uint64_t Daemon::total_rx() const {
  uint64_t n = 0;
  for (const auto& s : slots_) n += s.worker->counters().rx_packets.get();
  return n;
}

uint64_t Daemon::event_time_ns() const {
  return clock_ == ClockSource::kPacket ? last_event_ns_ : wall_clock_ns();
}

void Daemon::drain_bins() {
  constexpr size_t kMaxBinsInMemory = 7 * 24 * 60;  // one week of 1-minute bins
  // Generations past their grace period, taken before the drain: their last records
  // are already in the rings, so they can be forgotten once the drain is done.
  std::vector<HitlistRcu::GenerationPtr> reclaimed;
  if (hitlist_rcu_) reclaimed = hitlist_rcu_->take_reclaimable();
  // Positions first, then records: a record published before a position change is then
  // already in its ring when the position says the worker has moved past its bin.
  std::vector<uint64_t> pos(slots_.size());
  uint64_t slowest = FlowSummaries::kIdle;
  for (size_t w = 0; w < slots_.size(); ++w) {
    const auto& ex = *slots_[w].exchange;
    pos[w] = ex.idle() ? FlowSummaries::kIdle : ex.position();
    slowest = std::min(slowest, pos[w]);
  }
  input_idle_ = slowest == FlowSummaries::kIdle;
  for (auto& s : slots_) {
    while (BinRecord* r = s.exchange->poll()) {
      ++control_.bins_received;
      bins_[r->start_ns].add(*r);
      if (r->end_ns > last_event_ns_) last_event_ns_ = r->end_ns;
      summaries_->add(r->worker, *r);
      if (iot_) {
        iot_->add(*r);
        r->iot.clear();
      }
      if (eui_) {
        eui_->add(*r);
        r->eui.clear();
      }
      for (auto& t : r->trees) t.clear();  // workers always receive empty trees
      s.exchange->give_back(r);
    }
  }
  drain_learning();  // before forget: its records resolve through their generation
  for (const auto& g : reclaimed) {
    iot_->forget(g->number);
    if (learning_) learning_->forget(g->number);
  }
  for (size_t w = 0; w < slots_.size(); ++w) summaries_->set_position(uint32_t(w), pos[w]);
  if (iot_ && slowest != 0) iot_->advance(slowest);
  if (eui_ && slowest != 0) eui_->advance(slowest);
  if (learning_ && slowest != 0) {
    if (auto b = learning_->advance(slowest)) publish_learned(std::move(*b));
  }
  // Let workers run up to two bins ahead of the slowest one (FlowSummaries keeps four
  // open); position 0 means a worker has not seen a packet yet, so everyone waits for it.
  const uint64_t ahead = 2 * uint64_t(cfg_.bin_seconds) * 1'000'000'000ULL;
  horizon_.store(slowest >= FlowSummaries::kIdle - ahead ? FlowSummaries::kIdle : slowest + ahead,
                 std::memory_order_release);
  while (bins_.size() > kMaxBinsInMemory) {
    bins_.erase(bins_.begin());
    ++control_.bins_evicted;
  }
}

void Daemon::drain_learning() {
  if (!learning_) return;
  if (learn_buf_.empty()) learn_buf_.resize(256);
  for (auto& s : slots_) {
    if (!s.learn) continue;
    while (unsigned n = s.learn->drain(learn_buf_.data(), unsigned(learn_buf_.size()))) {
      for (unsigned i = 0; i < n; ++i) learning_->add(learn_buf_[i]);
    }
  }
}

// learning.add_to_hitlist: the current bundle plus confirmed learned endpoints becomes the
// next generation, published like a reload.
void Daemon::publish_learned(hitlist::Bundle b) {
  const size_t before = iot_->current()->bundle->endpoints.size();
  Alert a;
  a.time_ns = event_time_ns();
  a.subject = iot_->current()->path;
  try {
    auto g = hitlist::make_generation(std::move(b), iot_->current()->path,
                                      iot_->current()->number + 1, &learning_->matcher_spec());
    hitlist_rcu_->publish(g);
    iot_->adopt(g);
    learning_->on_generation(g);
    learning_->endpoints_published(g->bundle->endpoints.size() - before);
    record_generation(*g, "learning");
    a.type = "hitlist_learned";
    a.details = {{"generation", g->number},
                 {"endpoints", g->bundle->endpoints.size()},
                 {"endpoints_before", before}};
  } catch (const std::exception& e) {
    learning_->publish_failed();
    a.type = "hitlist_learned_failed";
    a.severity = Severity::kWarning;
    a.details = {{"error", e.what()}};
  }
  alerts_->emit(a);
}

void Daemon::check_drops(uint64_t now_ns) {
  for (size_t i = 0; i < ports_.size(); ++i) {
    PortStats st = ports_[i]->stats();
    PortStats& last = last_port_stats_[i];
    uint64_t dm = st.imissed - last.imissed, de = st.ierrors - last.ierrors,
             dn = st.rx_nombuf - last.rx_nombuf;
    if (dm + de + dn > 0) {
      Alert a;
      a.time_ns = now_ns;
      a.type = "rx_drops";
      a.severity = Severity::kWarning;
      a.subject = ports_[i]->info().name;
      a.details = {{"port", ports_[i]->info().name},
                   {"imissed", dm},
                   {"ierrors", de},
                   {"rx_nombuf", dn}};
      alerts_->emit(a);
    }
    last = st;
  }
  // A warning for every worker counter of lost data that grew since the last check.
  auto on_growth = [&](size_t w, uint64_t now, uint64_t& seen, const char* type,
                       const char* count_key, nlohmann::json details) {
    if (now <= seen) return;
    details["worker"] = w;
    details[count_key] = now - seen;
    Alert a;
    a.time_ns = now_ns;
    a.type = type;
    a.severity = Severity::kWarning;
    a.subject = fmt::format("worker {}", w);
    a.details = std::move(details);
    alerts_->emit(a);
    seen = now;
  };
  for (size_t w = 0; w < slots_.size(); ++w) {
    const WorkerCounters& c = slots_[w].worker->counters();
    on_growth(w, c.bin_ring_full.get(), ring_full_seen_[w], "bin_ring_full", "count",
              nlohmann::json::object());
    on_growth(w, c.iot_lines_full.get(), iot_full_seen_[w], "iot_evidence_table_full",
              "packets_not_recorded", {{"lines_per_worker", cfg_.iot.lines_per_worker}});
  }
}

// Control on the main lcore: collects closed bins, raises drop alerts once a second,
// and decides when to stop (signal, or input idle in --until-idle mode).
void Daemon::control_loop() {
  using clock = std::chrono::steady_clock;
  auto last_check = clock::now();
  auto last_activity = clock::now();
  uint64_t last_rx = total_rx();
  while (!g_signal_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(clock_ == ClockSource::kPacket ? 1 : 10));
    if (g_signal_reload.exchange(false)) {
      if (iot_) {
        reload_hitlist(cfg_.iot.hitlist, "SIGHUP");
      } else {
        spdlog::warn("SIGHUP: nothing to reload (iot.hitlist is not configured)");
      }
    }
    drain_bins();
    socket_->dispatch(std::cref(*commands_));
    auto now = clock::now();
    if (now - last_check >= std::chrono::seconds(1)) {
      check_drops(event_time_ns());
      publish_telemetry_views();
      last_check = now;
    }
    uint64_t rx = total_rx();
    // In replay a worker says itself when its input is exhausted; a worker that is only
    // descheduled (busy machine) or waiting for control must not count as idle.
    bool workers_idle = true;
    if (clock_ == ClockSource::kPacket)
      for (const auto& s : slots_) workers_idle &= s.exchange->idle();
    if (rx != last_rx || !workers_idle) {
      last_rx = rx;
      last_activity = now;
    } else if (opt_.until_idle &&
               now - last_activity >= std::chrono::milliseconds(opt_.idle_ms)) {
      spdlog::info("input idle for {} ms after {} packets: stopping", opt_.idle_ms, rx);
      break;
    }
  }
  if (g_signal_stop.load()) {
    spdlog::info("signal {} received: stopping", g_signal_no.load());
  }
}

ReloadResult Daemon::reload_hitlist(const std::string& path, const std::string& trigger) {
  ReloadResult res;
  if (!iot_) {
    res.error = "IoT detection is off (iot.hitlist is not configured)";
    return res;
  }
  Alert a;
  a.time_ns = wall_clock_ns();  // lifecycle alerts carry wall time, even in replay
  a.subject = path;
  try {
    IotPipeline::GenerationPtr g = iot_->load(path);
    hitlist_rcu_->publish(g);
    iot_->adopt(g);
    if (learning_) learning_->on_generation(g);
    record_generation(*g, trigger);
    res.ok = true;
    const hitlist::Bundle& b = *g->bundle;
    a.type = "hitlist_reloaded";
    a.details = {{"generation", g->number},     {"trigger", trigger},
                 {"valid_from", b.valid_from},  {"valid_until", b.valid_until},
                 {"services", b.services.size()}, {"domains", b.domains.size()},
                 {"endpoints", b.endpoints.size()}};
  } catch (const hitlist::HitlistError& e) {
    res.error = e.what();
  } catch (const std::exception& e) {
    res.error = fmt::format("{}: {}", path, e.what());
  }
  res.generation = iot_->current()->number;
  if (!res.ok) {
    iot_->reload_failed();
    spdlog::error("hitlist reload ({}) rejected, generation {} stays active: {}", trigger,
                  res.generation, res.error);
    a.type = "hitlist_reload_failed";
    a.severity = Severity::kCritical;
    a.details = {{"trigger", trigger}, {"error", res.error}, {"active_generation", res.generation}};
  }
  alerts_->emit(a);
  return res;
}

StatsSnapshot Daemon::snapshot() {
  StatsSnapshot snap;
  snap.version = HAYSTACK_VERSION;
  snap.config = &cfg_;
  snap.clock = clock_;
  for (size_t i = 0; i < ports_.size(); ++i) {
    snap.ports.push_back(PortSnapshot{ports_[i]->info(), cfg_.ports[i].device, ports_[i]->stats()});
  }
  for (const auto& s : slots_) {
    WorkerSnapshot w = WorkerSnapshot::from(s.worker->spec().worker_id, s.lcore,
                                            s.worker->counters());
    for (const auto& q : s.worker->spec().queues) w.queues.emplace_back(q.port_name, q.queue);
    snap.workers.push_back(std::move(w));
  }
  snap.bins = bins_;
  snap.control = control_;
  snap.control.alerts_emitted = alerts_->emitted();
  snap.control.alert_write_errors = alerts_->write_errors();
  snap.control.alert_log_suppressed = alerts_->log_suppressed();
  if (socket_) snap.control.socket = socket_->counters();
  snap.flow = summaries_->counters();
  if (tree_files_) snap.store = tree_files_->counters();
  if (store_) {
    snap.store_backend = std::string(store_->backend_name());
    snap.store_db = store_->counters();
  }
  if (ipfix_) snap.ipfix = ipfix_->to_json();
  if (iot_) {
    snap.iot = iot_->summary();
    snap.iot["reloads"]["generations_retiring"] = hitlist_rcu_->retiring();
    snap.iot["reloads"]["generations_reclaimed"] = hitlist_rcu_->reclaimed();
  }
  if (eui_) snap.eui64 = eui_->summary();
  if (learning_) snap.learning = learning_->summary();
  return snap;
}

// Once a second: the texts that /metrics and the DPDK telemetry commands serve.
void Daemon::publish_telemetry_views() {
  if (!exporter_ && !cfg_.telemetry.dpdk_commands) return;
  StatsSnapshot snap = snapshot();
  if (exporter_) exporter_->publish(prom::render(metrics_from(snap, exporter_->counters())));
  if (cfg_.telemetry.dpdk_commands) publish_telemetry(stats_to_json(snap));
}

// The handlers see daemon state read-only, always on this (the control) thread; the
// one that changes state, hitlist.reload, calls the same method as SIGHUP.
void Daemon::start_control_socket() {
  ControlContext ctx;
  ctx.config = &cfg_;
  ctx.version = HAYSTACK_VERSION;
  ctx.started = std::chrono::steady_clock::now();
  ctx.started_wall_ns = wall_clock_ns();
  ctx.snapshot = [this] { return snapshot(); };
  ctx.input_idle = [this] { return input_idle_; };
  ctx.iot = iot_.get();
  ctx.eui64 = eui_.get();
  ctx.hitlist_reload = [this](const std::string& path) {
    ReloadResult r = reload_hitlist(path, "haystackctl");
    return HitlistReloadOutcome{r.ok, r.generation, r.error};
  };
  ctx.trees = tree_source();
  // FlowQL reads stored trees on this thread, the one that writes them: never a
  // half-written period.
  ctx.flowql = [this](const std::string& q, bool text) -> nlohmann::ordered_json {
    const flowql::TreeSource* trees = tree_source();
    if (!trees) {
      throw CommandError("not_configured",
                         "no store and flowtree.persist is off: no stored site trees to query");
    }
    try {
      const flowql::Result r = flowql::run(q, *trees);
      if (text) return {{"text", r.to_text()}};
      return nlohmann::ordered_json::parse(r.to_json().dump());
    } catch (const flowql::FlowQLError& e) {
      throw CommandError("bad_query", flowql::format_error(q, e));
    }
  };
  ctx.alerts = &recent_alerts_;
  commands_ = std::make_unique<ControlCommands>(std::move(ctx));
  // Started after EAL init, so the thread inherits the main lcore's CPU set and stays
  // off the worker cores.
  socket_->start();
  spdlog::info("control socket {}", socket_->path());
}

void Daemon::write_stats() {
  StatsSnapshot snap = snapshot();
  std::string text = stats_to_json(snap).dump(2) + "\n";
  if (opt_.stats_out.empty() || opt_.stats_out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return;
  }
  std::string tmp = opt_.stats_out + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) throw std::runtime_error("--stats-out: cannot write '" + tmp + "'");
  }
  std::filesystem::rename(tmp, opt_.stats_out);  // readers never see a partial document
}

int Daemon::run() {
  check_pcap_files(cfg_);
  // Bound before EAL init: a second daemon on the same socket stops here, before it
  // touches any device.
  ControlSocketLimits limits;
  limits.max_clients = cfg_.control.max_clients;
  socket_ = std::make_unique<ControlSocket>(cfg_.control.socket, limits);

  bool all_pcap = !cfg_.ports.empty();
  for (const auto& p : cfg_.ports) all_pcap &= p.device.rfind("net_pcap", 0) == 0;
  clock_ = cfg_.clock == ClockSource::kAuto ? (all_pcap ? ClockSource::kPacket : ClockSource::kWall)
                                            : cfg_.clock;

  check_worker_cpus();
  std::vector<EalDevice> devs;
  for (const auto& p : cfg_.ports) devs.push_back({p.device, p.is_vdev()});
  std::vector<unsigned> wl(cfg_.workers.begin(), cfg_.workers.end());
  EalPlan plan = build_eal_args(opt_.prog, opt_.eal_args, devs, wl);
  std::string joined;
  for (const auto& a : plan.args) joined += a + " ";
  spdlog::info("haystackd {} starting; EAL: {}", HAYSTACK_VERSION, joined);
  std::vector<char*> argv;
  for (auto& a : plan.args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(int(argv.size() - 1), argv.data()) < 0) {
    spdlog::error("EAL initialisation failed: {} (check the EAL arguments after `--`)",
                  rte_strerror(rte_errno));
    return kExitConfig;
  }
  wall_clock_init();
  install_signal_handlers();

  int rc = kExitOk;
  try {
    alerts_ = std::make_unique<AlertSink>(cfg_.alert_file, cfg_.site_id);
    alerts_->set_log_limit(cfg_.log.repeat_limit);
    alerts_->add_listener([this](const Alert& a, const std::string& line) {
      recent_alerts_.add(a.time_ns, line);
      if (store_) store_->put_alert(a);
      socket_->publish("{\"event\":\"alert\",\"alert\":" + line + "}");
    });
    resolve_workers();  // first: the name matcher needs one scratch per worker
    if (!cfg_.iot.hitlist.empty()) {
      if (cfg_.learning.enabled)
        learning_ = std::make_unique<LearningPipeline>(cfg_, uint32_t(worker_lcores_.size()));
      iot_ = std::make_unique<IotPipeline>(cfg_, *alerts_,
                                           learning_ ? &learning_->matcher_spec() : nullptr);
      if (learning_) learning_->on_generation(iot_->current());
    }
    if (cfg_.eui64.enabled) eui_ = std::make_unique<Eui64Pipeline>(cfg_);
    if (iot_) {
      hitlist_rcu_ = std::make_unique<HitlistRcu>(uint32_t(worker_lcores_.size()), iot_->current());
    }
    open_ports();
    plan_workers();
    ring_full_seen_.assign(slots_.size(), 0);
    iot_full_seen_.assign(slots_.size(), 0);
    if (cfg_.flowtree.persist) {
      tree_files_ = std::make_unique<TreeStore>(cfg_.state_dir + "/flowtrees", cfg_.site_id);
      tree_file_source_ = std::make_unique<flowql::StateDirSource>(cfg_.state_dir + "/flowtrees");
    }
    open_store_backend();
    if (cfg_.ddos.enabled) ddos_ = std::make_unique<DdosDetector>(cfg_);
    if (cfg_.ipfix.enabled) {
      ipfix_ = std::make_unique<ipfix::Exporter>(cfg_);
      if (iot_) iot_->add_report_sink([this](const auto& r) { ipfix_->on_windows(r); });
      if (eui_) eui_->add_report_sink([this](const auto& r) { ipfix_->on_eui64(r); });
    }
    // One producer per roll-up granularity: the store when it makes them, else memory.
    const bool store_rollups = store_ && store::store_makes_rollups(cfg_);
    summaries_ = std::make_unique<FlowSummaries>(
        tree_configs(kSiteSeed), uint32_t(slots_.size()), cfg_.bin_seconds,
        store_rollups ? std::vector<uint32_t>{} : cfg_.flowtree.rollup_seconds,
        [this](const SiteTrees& st) { on_site_trees(st); });
    if (cfg_.telemetry.prometheus) {
      exporter_ = std::make_unique<prom::HttpExporter>(cfg_.telemetry.prometheus_host,
                                                       cfg_.telemetry.prometheus_port);
      spdlog::info("prometheus metrics on http://{}:{}/metrics", cfg_.telemetry.prometheus_host,
                   exporter_->port());
    }
    if (cfg_.telemetry.dpdk_commands) register_telemetry_commands();
    publish_telemetry_views();
    start_control_socket();
    for (auto& p : ports_) p->start();
    spdlog::info("site '{}', mode {}, clock {}, {} worker(s), sampling {} flow 1:{} iot 1:{}, "
                 "bins {} s",
                 cfg_.site_id, mode_name(cfg_.mode), clock_name(clock_), slots_.size(),
                 sample_method_name(cfg_.sampling.method), cfg_.sampling.flow_rate,
                 cfg_.sampling.iot_rate, cfg_.bin_seconds);
    Alert start;
    start.time_ns = wall_clock_ns();  // lifecycle alerts carry wall time, even in replay
    start.type = "daemon_start";
    start.subject = cfg_.site_id;
    start.details = {{"version", HAYSTACK_VERSION},
                     {"workers", slots_.size()},
                     {"ports", ports_.size()},
                     {"clock", std::string(clock_name(clock_))}};
    alerts_->emit(start);

    launch_args_.resize(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      launch_args_[i] = LaunchArg{slots_[i].worker.get(), &stop_workers_};
      int lr = rte_eal_remote_launch(worker_main, &launch_args_[i], slots_[i].lcore);
      if (lr != 0) throw std::runtime_error(fmt::format("cannot launch worker on lcore {}", slots_[i].lcore));
    }
    control_loop();
    stop_workers_.store(true);
    // Keep draining while workers flush their open bins; they may wait for records.
    for (bool done = false; !done;) {
      drain_bins();
      done = true;
      for (const auto& s : slots_) done &= s.worker->finished();
      if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    rte_eal_mp_wait_lcore();
    drain_bins();
    for (uint32_t w = 0; w < slots_.size(); ++w) summaries_->worker_finished(w);
    summaries_->finish();
    if (store_) store_->flush();  // its roll-ups of open periods still reach IPFIX
    if (iot_) iot_->finish();
    if (eui_) eui_->finish();
    if (learning_) learning_->finish();
    if (ipfix_) ipfix_->stop();  // flushes, bounded in time; counts what it could not send
    check_drops(event_time_ns());
    for (auto& p : ports_) p->stop();

    Alert stop;
    stop.time_ns = wall_clock_ns();
    stop.type = "daemon_stop";
    stop.subject = cfg_.site_id;
    stop.details = {{"reason", g_signal_stop.load() ? "signal" : "input idle"},
                    {"rx_packets", total_rx()},
                    {"bins", bins_.size()}};
    alerts_->emit(stop);
    if (store_) store_->flush();  // bounded in time for remote backends; counts losses
    write_stats();
  } catch (const ConfigError& e) {
    spdlog::error("{}", e.what());
    rc = kExitConfig;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    rc = kExitRuntime;
  }
  abort_workers_.store(true);
  stop_workers_.store(true);
  rte_eal_mp_wait_lcore();
  socket_.reset();  // followers see end of file; the socket file is removed
  slots_.clear();
  ports_.clear();
  rte_eal_cleanup();
  return rc;
}

}  // namespace

int run_daemon(const DaemonOptions& opt) {
  Config cfg;
  try {
    cfg = load_config(opt.config_path);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "haystackd: %s\n", e.what());
    return kExitConfig;
  }
  if (opt.check_only) {
    std::printf("%s: configuration OK\n", opt.config_path.c_str());
    return kExitOk;
  }
  try {
    LogSetup ls;
    ls.level = cfg.log.level;
    ls.json = cfg.log.format == LogFormat::kJson;
    ls.file = cfg.log.file;
    ls.max_file_mb = cfg.log.max_file_mb;
    ls.max_files = cfg.log.max_files;
    setup_logging(ls);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "haystackd: %s\n", e.what());
    return kExitConfig;
  }
  Daemon d(opt, std::move(cfg));
  try {
    return d.run();
  } catch (const ConfigError& e) {
    spdlog::error("{}", e.what());
    return kExitConfig;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return kExitRuntime;
  }
}

}  // namespace haystack
