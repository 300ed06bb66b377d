// The four workloads of actorsync-load. Each is bounded in count and time, stops by itself,
// and fills the run's report.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <actorsync/actors/session_types.hpp>
#include <actorsync/api/app.hpp>
#include "tools/load/load_run.hpp"

namespace actorsync::tools {
class server_process;
}

namespace actorsync::load {

/// `sessions` sessions bound and caught up, then held: bind time, memory, sockets, idle CPU.
void run_idle(load_run& run, pid_t server_pid);
/// K writes per realm, each acknowledged (upload waits): writes/s, MB/s, ack latency.
void run_upload(load_run& run, pid_t server_pid);
/// One writer and R readers per realm at a steady rate: write-to-visible latency.
void run_fanout(load_run& run, pid_t server_pid);
/// Pause, resume, close, reopen at random while writing on two replicas; then convergence.
void run_churn(load_run& run, pid_t server_pid);
/// The embedded server's data restored from an older copy while every realm (two replicas) has
/// newer acknowledged writes and an unsynced one: every replica resets (recover_unsynced) and
/// must hold the older copy plus its recovered write. Embedded server only.
void run_reset(load_run& run, tools::server_process& server,
               const std::filesystem::path& data_directory);

// ---- shared steps (workload_steps.cpp) ----

/// "ok", "paused", "error pong_timeout", ... for error messages.
std::string describe(const runtime::wait_outcome& outcome);

/// Opens realms [0, count) in `owner`, observed by the run's subscriber actor.
std::vector<std::shared_ptr<api::realm>> open_realms(load_run& run, api::app& owner,
                                                     std::uint64_t count,
                                                     const api::realm_config& config = {});
/// Waits for every realm's download wait; returns how many completed ok.
std::uint64_t wait_all_downloaded(load_run& run,
                                  const std::vector<std::shared_ptr<api::realm>>& realms);
/// Waits for every realm's upload wait; returns how many completed ok.
std::uint64_t wait_all_uploaded(load_run& run,
                                const std::vector<std::shared_ptr<api::realm>>& realms);
/// Fills the memory and socket figures: `base_*` are RSS before the sessions were opened.
void measure_footprint(load_run& run, std::uint64_t sessions, std::uint64_t base_client_rss,
                       std::uint64_t base_server_rss, pid_t server_pid);

}  // namespace actorsync::load
