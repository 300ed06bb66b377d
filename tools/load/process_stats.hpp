// Figures about this process read from /proc: resident memory, open sockets, CPU time.
#pragma once

#include <sys/types.h>
#include <cstdint>

namespace actorsync::load {

/// Resident set size in bytes of `pid` (0: this process), from /proc/<pid>/statm.
std::uint64_t resident_bytes(pid_t pid = 0);
/// Open file descriptors of `pid` that are sockets.
std::uint64_t open_sockets(pid_t pid = 0);
/// User + system CPU time of this process in seconds.
double cpu_seconds();

}  // namespace actorsync::load
