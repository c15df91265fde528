// EAL arguments: haystackd derives the device and lcore arguments from the config so the
// operator states each port once; anything after `--` on the command line is passed on.
#pragma once

#include <string>
#include <vector>

namespace haystack {

struct EalPlan {
  std::vector<std::string> args;  // argv for rte_eal_init (args[0] is the program name)
  bool lcores_from_user = false;  // user passed -l/--lcores/-c
};

struct EalDevice {
  std::string device;  // "net_pcap0,rx_pcap=x.pcap" or "0000:3b:00.0"
  bool vdev = false;
};

// Builds the EAL argv: program name, the user's EAL args, then --vdev / -a per device,
// then -l <main,workers> when the user gave no lcore list. With only vdevs and no
// PCI device, --no-pci is not added automatically (the user may want PCI probing).
EalPlan build_eal_args(const std::string& prog, const std::vector<std::string>& user_args,
                       const std::vector<EalDevice>& devices,
                       const std::vector<unsigned>& workers);

}  // namespace haystack
