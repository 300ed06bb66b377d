// Figures about a process read from /proc and the C library: resident memory, descriptors, CPU
// time, start time, the machine. Used by the server's process_* metrics and by the load tool's
// measurements (its own process and the server child's). No CAF, no sockets.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <string>

namespace actorsync::process {

/// Resident set size in bytes of `pid` (0: this process), from /proc/<pid>/statm.
std::uint64_t resident_bytes(pid_t pid = 0);
/// Open file descriptors of `pid` that are sockets.
std::uint64_t open_sockets(pid_t pid = 0);
/// Open file descriptors of `pid` (0: this process).
std::uint64_t open_descriptors(pid_t pid = 0);
/// This process's limit on open file descriptors (RLIMIT_NOFILE, soft).
std::uint64_t max_descriptors();
/// User + system CPU time of this process in seconds.
double cpu_seconds();
/// When this process started, in seconds since the Unix epoch (from /proc/self/stat and the
/// boot time in /proc/stat); 0 when /proc cannot tell.
double start_time_seconds();

struct machine_info {
  std::string hostname;
  std::uint64_t cpu_cores = 0;     ///< online logical CPUs
  std::uint64_t memory_bytes = 0;  ///< physical memory
};
machine_info this_machine();
/// The current UTC time in ISO 8601, e.g. 2026-12-07T17:30:00Z.
std::string utc_now_iso8601();

}  // namespace actorsync::process
