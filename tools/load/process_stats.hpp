// Figures about this process read from /proc: resident memory, open sockets, CPU time.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <string>

namespace actorsync::load {

/// Resident set size in bytes of `pid` (0: this process), from /proc/<pid>/statm.
std::uint64_t resident_bytes(pid_t pid = 0);
/// Open file descriptors of `pid` that are sockets.
std::uint64_t open_sockets(pid_t pid = 0);
/// User + system CPU time of this process in seconds.
double cpu_seconds();

struct machine_info {
  std::string hostname;
  std::uint64_t cpu_cores = 0;     ///< online logical CPUs
  std::uint64_t memory_bytes = 0;  ///< physical memory
};
machine_info this_machine();
/// The current UTC time in ISO 8601, e.g. 2026-12-07T17:30:00Z.
std::string utc_now_iso8601();

}  // namespace actorsync::load
