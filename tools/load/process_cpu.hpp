// CPU time of other processes (the embedded servers, PostgreSQL, nats-servers), read from
// /proc, for the load report's per-process figures. The tool's own CPU is
// process::cpu_seconds() (server/process_stats.hpp). Linux only; no CAF, no sockets.
#pragma once

#include <sys/types.h>

namespace actorsync::load {

/// User + system CPU seconds `pid` has used so far (utime + stime of /proc/<pid>/stat); 0 when
/// it is gone. With `children`: plus what its reaped children used (cutime + cstime) and what
/// its live children use now, e.g. a PostgreSQL postmaster and its backends.
double process_cpu_seconds(pid_t pid, bool children = false);

}  // namespace actorsync::load
