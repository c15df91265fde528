#include "dataplane/dpdk/hitlist_rcu.h"

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include <fmt/format.h>

#include <cstdlib>
#include <stdexcept>

namespace haystack {

class HitlistRcu::Reader final : public HitlistSource {
 public:
  Reader(HitlistRcu& rcu, unsigned id) : rcu_(rcu), id_(id) {}

  HitlistView adopt() override {
    if (!online_) {
      rte_rcu_qsbr_thread_online(rcu_.qs_, id_);  // orders the load below after it
      online_ = true;
    } else {
      // The token is read with acquire: a token newer than a publish makes that
      // publish's pointer visible to the load below.
      rte_rcu_qsbr_quiescent(rcu_.qs_, id_);
    }
    const hitlist::Generation* g = rcu_.published_.load(std::memory_order_acquire);
    return HitlistView{g->table.get(), g->number, g->names.get()};
  }

  void release() override {
    if (!online_) return;
    rte_rcu_qsbr_thread_offline(rcu_.qs_, id_);
    online_ = false;
  }

 private:
  HitlistRcu& rcu_;
  unsigned id_;
  bool online_ = false;
};

HitlistRcu::HitlistRcu(uint32_t workers, GenerationPtr first) : current_(std::move(first)) {
  size_t sz = rte_rcu_qsbr_get_memsize(workers);
  qs_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(64, (sz + 63) / 64 * 64));
  if (qs_ == nullptr || rte_rcu_qsbr_init(qs_, workers) != 0) {
    std::free(qs_);
    throw std::runtime_error(fmt::format("hitlist RCU for {} workers: {}", workers,
                                         rte_strerror(rte_errno)));
  }
  for (uint32_t w = 0; w < workers; ++w) {
    rte_rcu_qsbr_thread_register(qs_, w);  // registered threads start offline
    readers_.push_back(std::make_unique<Reader>(*this, w));
  }
  published_.store(current_.get(), std::memory_order_release);
}

HitlistRcu::~HitlistRcu() { std::free(qs_); }

HitlistSource& HitlistRcu::source(uint32_t w) { return *readers_.at(w); }

void HitlistRcu::publish(GenerationPtr next) {
  published_.store(next.get(), std::memory_order_release);
  // rte_rcu_qsbr_start increments the token with release after the store above.
  uint64_t token = rte_rcu_qsbr_start(qs_);
  retiring_.push_back(Retired{std::move(current_), token});
  current_ = std::move(next);
}

std::vector<HitlistRcu::GenerationPtr> HitlistRcu::take_reclaimable() {
  std::vector<GenerationPtr> out;
  size_t keep = 0;
  for (auto& r : retiring_) {
    if (rte_rcu_qsbr_check(qs_, r.token, false) == 1) {
      out.push_back(std::move(r.gen));
    } else {
      retiring_[keep++] = std::move(r);
    }
  }
  retiring_.resize(keep);
  reclaimed_ += out.size();
  return out;
}

}  // namespace haystack
