#include "dataplane/dpdk/eal_args.h"

#include <algorithm>

namespace haystack {

namespace {
bool is_lcore_flag(const std::string& a) {
  return a == "-l" || a == "-c" || a == "--lcores" || a.rfind("--lcores=", 0) == 0 ||
         (a.size() > 2 && a.rfind("-l", 0) == 0 && a[2] != '-') ||
         (a.size() > 2 && a.rfind("-c", 0) == 0);
}
}  // namespace

EalPlan build_eal_args(const std::string& prog, const std::vector<std::string>& user_args,
                       const std::vector<EalDevice>& devices,
                       const std::vector<unsigned>& workers) {
  EalPlan plan;
  plan.args.push_back(prog);
  for (const auto& a : user_args) {
    if (is_lcore_flag(a)) plan.lcores_from_user = true;
    plan.args.push_back(a);
  }
  for (const auto& d : devices) {
    plan.args.push_back(d.vdev ? "--vdev" : "-a");
    plan.args.push_back(d.device);
  }
  if (!plan.lcores_from_user) {
    std::vector<unsigned> ids{0};
    for (unsigned w : workers) {
      if (std::find(ids.begin(), ids.end(), w) == ids.end()) ids.push_back(w);
    }
    if (ids.size() == 1) ids.push_back(1);  // default: one worker on lcore 1
    std::string l;
    for (unsigned id : ids) l += (l.empty() ? "" : ",") + std::to_string(id);
    plan.args.push_back("-l");
    plan.args.push_back(l);
  }
  return plan;
}

}  // namespace haystack
