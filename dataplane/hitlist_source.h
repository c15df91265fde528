// HitlistSource: how a worker obtains the hitlist generation it matches against.
// Workers adopt a generation only when they open a bin, so every bin record refers to
// exactly one generation (its domain and service ids are that bundle's) and control can
// translate records of older generations after a reload. The DPDK adapter implements it
// over an atomic pointer and an rte_rcu_qsbr quiescent-state variable
// (dataplane/dpdk/hitlist_rcu.h); unit tests use a plain implementation.
#pragma once

#include <cstdint>

namespace haystack {

namespace hitlist {
class HitlistTable;
class NameMatcher;
}  // namespace hitlist

struct HitlistView {
  const hitlist::HitlistTable* table = nullptr;
  uint64_t generation = 0;
  const hitlist::NameMatcher* names = nullptr;  // on-the-wire learning (nullptr: none)
};

class HitlistSource {
 public:
  virtual ~HitlistSource() = default;
  // Called by the worker when it opens a bin: it no longer uses the generation it
  // adopted before, and takes the current one.
  virtual HitlistView adopt() = 0;
  // Called when the worker has no open bin (input idle, shutdown): it holds no
  // generation until its next adopt().
  virtual void release() = 0;
};

}  // namespace haystack
