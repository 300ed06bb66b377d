// Returning the heap's free pages to the operating system after a burst. Pure logic, no CAF.
//
// Opening and binding many sessions at once allocates and frees a lot of short-lived memory
// (frames, mailbox elements, wait bookkeeping) between the sessions' long-lived objects; glibc
// keeps those freed pages resident, about 1 KB per session after a 100,000-session burst
// (docs/BENCHMARKS.md). The connection manager calls release_free_memory() once such a burst
// is over (connection_manager_state.hpp: burst_release).
#pragma once

namespace actorsync::runtime {

/// Gives free heap pages back to the OS (glibc's malloc_trim). Returns false where the C
/// library offers no such call: then nothing happens.
bool release_free_memory();

}  // namespace actorsync::runtime
