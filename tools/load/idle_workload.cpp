#include <thread>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "server/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {

/// Longest wait, after the hold, for the runtime's release of the binding burst's free memory.
constexpr std::chrono::seconds release_deadline{30};

/// The connection manager gives the binding burst's free heap back to the OS once no frame has
/// moved for a while (actors/memory_release.hpp). Measuring before that would count memory the
/// runtime is about to return; waits until the release counter moved past `before` (true), or
/// the deadline passed or the run was stopped (false: measured anyway, and the report says so).
bool wait_for_memory_release(load_run& run, api::app& client, std::uint64_t before) {
  const auto deadline = load_run::clock::now() + release_deadline;
  while (client.connection_statistics().memory_releases <= before) {
    if (run.should_stop() || load_run::clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling, not synchronising
  }
  return true;
}

}  // namespace

void run_idle(load_run& run, pid_t server_pid) {
  auto& report = run.report();
  auto& client = run.make_app("client");
  const auto base_client = process::resident_bytes();
  const auto base_server = server_pid > 0 ? process::resident_bytes(server_pid) : 0;
  run.start_progress(run.options().realms, 0);

  const auto t0 = load_run::clock::now();
  auto realms = open_realms(run, client, run.options().realms);
  const auto caught_up = wait_all_downloaded(run, realms);
  report.bind_all_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.sessions = realms.size();
  const auto releases_at_bind = client.connection_statistics().memory_releases;

  // Hold the sessions and measure what they cost while nothing happens.
  const auto cpu0 = process::cpu_seconds();
  const auto hold0 = load_run::clock::now();
  while (!run.should_stop() && load_run::clock::now() - hold0 < run.options().hold) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto held_s = std::chrono::duration<double>(load_run::clock::now() - hold0).count();
  report.cpu_idle_percent = held_s > 0 ? 100.0 * (process::cpu_seconds() - cpu0) / held_s : 0;
  // Fewer sessions than the release threshold never trigger one: nothing to wait for.
  if (realms.size() >= api::app_config{}.release_memory_after_sessions)
    report.measured_after_memory_release = wait_for_memory_release(run, client, releases_at_bind);
  report.memory_releases = client.connection_statistics().memory_releases;
  measure_footprint(run, realms.size(), base_client, base_server, server_pid);
  if (caught_up != run.options().realms) {
    run.record_error(std::to_string(run.options().realms - caught_up) +
                     " sessions did not catch up");
  }
  run.stop_progress();
}

}  // namespace actorsync::load
