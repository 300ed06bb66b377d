#include <future>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "server/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {}  // namespace

std::string describe(const runtime::wait_outcome& outcome) {
  switch (outcome.status) {
    case runtime::wait_status::ok:
      return "ok";
    case runtime::wait_status::timed_out:
      return "timed out";
    case runtime::wait_status::paused:
      return "paused";
    case runtime::wait_status::error:
      return "error " + std::string(runtime::to_string(outcome.error));
  }
  return "unknown";
}

namespace {

using wait_call = std::future<runtime::wait_outcome> (api::sync_session::*)(
    std::optional<std::chrono::milliseconds>);

// Issues one wait per realm at once, then collects them: waits run concurrently.
std::uint64_t wait_all(load_run& run, const std::vector<std::shared_ptr<api::realm>>& realms,
                       wait_call call, const char* what) {
  std::vector<std::future<runtime::wait_outcome>> pending;
  pending.reserve(realms.size());
  for (const auto& r : realms) pending.push_back((r->session().*call)(run.wait_timeout()));
  std::uint64_t ok = 0;
  for (std::size_t i = 0; i < pending.size(); ++i) {
    const auto outcome = pending[i].get();
    if (outcome) {
      ++ok;
    } else {
      run.record_error(realms[i]->path() + ": " + what + " wait: " + describe(outcome));
    }
  }
  return ok;
}

}  // namespace

std::vector<std::shared_ptr<api::realm>> open_realms(load_run& run, api::app& owner,
                                                     std::uint64_t count,
                                                     const api::realm_config& config) {
  std::vector<std::shared_ptr<api::realm>> realms;
  realms.reserve(count);
  for (std::uint64_t i = 0; i < count && !run.should_stop(); ++i) {
    const auto user = run.user_for(i);
    realms.push_back(
        owner.open_realm(load_run::realm_path(i), {user, run.token_for(user)}, config));
    run.observe(owner, realms.back()->session());
    ++run.counters().sessions_opened;
  }
  return realms;
}

std::uint64_t wait_all_downloaded(load_run& run,
                                  const std::vector<std::shared_ptr<api::realm>>& realms) {
  return wait_all(run, realms, &api::sync_session::download_all_server_changes, "download");
}

std::uint64_t wait_all_uploaded(load_run& run,
                                const std::vector<std::shared_ptr<api::realm>>& realms) {
  return wait_all(run, realms, &api::sync_session::upload_all_local_changes, "upload");
}

void measure_footprint(load_run& run, std::uint64_t sessions, std::uint64_t base_client_rss,
                       std::uint64_t base_server_rss, pid_t server_pid) {
  auto& r = run.report();
  const auto per = [sessions](std::uint64_t now, std::uint64_t base) {
    return sessions == 0 ? 0
                         : (static_cast<std::int64_t>(now) - static_cast<std::int64_t>(base)) /
                               static_cast<std::int64_t>(sessions);
  };
  r.client_rss_base_bytes = base_client_rss;
  r.client_rss_bytes_per_session = per(process::resident_bytes(), base_client_rss);
  if (server_pid > 0)
    r.server_rss_bytes_per_session = per(process::resident_bytes(server_pid), base_server_rss);
  r.sockets = process::open_sockets();
}

}  // namespace actorsync::load
