// Where FlowQL gets its trees. The executor only needs these three questions answered;
// the state directory of haystackd is the first implementation, database backends
// (storage issue) implement the same interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/flowtree/feature_set.h"
#include "dataplane/flowtree/flowtree.h"

namespace haystack::flowql {

class TreeSource {
 public:
  virtual ~TreeSource() = default;
  // Every site with stored trees, sorted.
  virtual std::vector<std::string> sites() const = 0;
  // Bin lengths (seconds) stored for the site, any order.
  virtual std::vector<uint32_t> granularities(const std::string& site) const = 0;
  // Start times (UTC seconds, ascending) of the site's bins of this length and feature set
  // that lie within [from, to).
  virtual std::vector<int64_t> bins(const std::string& site, uint32_t seconds,
                                    flowtree::FeatureSet fs, int64_t from, int64_t to) const = 0;
  // Throws std::runtime_error naming the tree when it cannot be read.
  virtual flowtree::Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                                  flowtree::FeatureSet fs) const = 0;
};

// The files TreeStore writes: <root>/<site>/<granularity>/<YYYYMMDDTHHMMSSZ>/<SET>.ftr,
// where root is <state_dir>/flowtrees.
class StateDirSource : public TreeSource {
 public:
  explicit StateDirSource(std::string root) : root_(std::move(root)) {}
  std::vector<std::string> sites() const override;
  std::vector<uint32_t> granularities(const std::string& site) const override;
  std::vector<int64_t> bins(const std::string& site, uint32_t seconds, flowtree::FeatureSet fs,
                            int64_t from, int64_t to) const override;
  flowtree::Flowtree load(const std::string& site, uint32_t seconds, int64_t start,
                          flowtree::FeatureSet fs) const override;

 private:
  std::string root_;
};

}  // namespace haystack::flowql
