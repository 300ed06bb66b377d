// The reset workload: the embedded server's data goes back to an older copy while every realm
// holds newer acknowledged writes and one unsynced write, so every replica must reset
// (docs/sessions.md, "Client reset"); afterwards each realm must hold exactly what the server's
// copy had plus its recovered write, on both replicas.
#include <atomic>
#include <filesystem>
#include <thread>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tools/load/workloads.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::load {

namespace {

using realm_list = std::vector<std::shared_ptr<api::realm>>;

// Commits writes [first, last) of every realm, named "<prefix>-<i>".
void write_all(load_run& run, const realm_list& realms, const std::string& prefix,
               std::uint64_t first, std::uint64_t last) {
  for (const auto& realm : realms) {
    for (auto i = first; i < last && !run.should_stop(); ++i) {
      const auto id = prefix + "-" + std::to_string(i);
      if (realm->begin_write().create_object("items", id).commit().ok()) {
        ++run.counters().writes_committed;
      } else {
        run.record_error(realm->session().path() + ": commit failed");
      }
    }
  }
}

void sync_all(load_run& run, const realm_list& writer, const realm_list& reader) {
  if (wait_all_uploaded(run, writer) == writer.size())  // for the live line
    run.counters().writes_acked = run.counters().writes_committed.load();
  wait_all_downloaded(run, reader);
}

// Stops the server (SIGTERM, a clean shutdown) and starts it again on the same port, after
// `between` ran on its stopped data directory.
template <class F>
void restart_server(tools::server_process& server, F&& between) {
  if (const int status = server.stop(); status != 0)
    throw std::runtime_error("the embedded server exited with status " + std::to_string(status));
  between();
  server.start();
}

// What every realm must read after its reset (recover_unsynced): the writes of the older copy
// and the unsynced one; none of those the server acknowledged after the copy was taken.
// True when it does; each difference is recorded as an error.
bool check_realm(load_run& run, api::realm& writer, api::realm& reader, std::uint64_t kept,
                 std::uint64_t lost) {
  const auto& path = writer.session().path();
  const auto& r = writer.read();
  const auto errors_before = run.counters().errors.load();
  for (std::uint64_t i = 0; i < kept; ++i) {
    if (!r.object_exists("items", "kept-" + std::to_string(i)))
      run.record_error(path + ": kept-" + std::to_string(i) + " missing after the reset");
  }
  for (std::uint64_t i = 0; i < lost; ++i) {
    if (r.object_exists("items", "lost-" + std::to_string(i)))
      run.record_error(path + ": lost-" + std::to_string(i) + " survived the server's restore");
  }
  if (!r.object_exists("items", "unsynced-0"))
    run.record_error(path + ": the unsynced write was not recovered");
  if (r.content_digest() != reader.read().content_digest())
    run.record_error(path + ": replicas diverged after the reset");
  return run.counters().errors.load() == errors_before;
}

}  // namespace

void run_reset(load_run& run, tools::server_process& server,
               const std::filesystem::path& data_directory) {
  const auto& options = run.options();
  auto& report = run.report();
  std::atomic<std::uint64_t> resets{0};
  api::realm_config config;  // recover_unsynced, the default
  config.after_client_reset = [&resets](const runtime::client_reset_event&) { ++resets; };
  auto& writer_app = run.make_app("writer");
  auto& reader_app = run.make_app("reader");
  const auto writer = open_realms(run, writer_app, options.realms, config);
  const auto reader = open_realms(run, reader_app, options.realms, config);
  report.sessions = writer.size() + reader.size();
  const auto kept = std::max<std::uint64_t>(1, options.writes / 2);
  const auto lost = std::max<std::uint64_t>(1, options.writes - kept);
  run.start_progress(report.sessions, options.realms * (kept + lost + 1));
  const auto t0 = load_run::clock::now();

  write_all(run, writer, "kept", 0, kept);
  sync_all(run, writer, reader);
  const auto backup = data_directory.string() + ".older";
  restart_server(server, [&] {
    std::filesystem::copy(data_directory, backup, std::filesystem::copy_options::recursive);
  });
  write_all(run, writer, "lost", 0, lost);
  sync_all(run, writer, reader);  // acknowledged, and about to be lost with the newer data
  for (const auto& realm : writer) realm->session().pause();
  write_all(run, writer, "unsynced", 0, 1);
  restart_server(server, [&] {
    std::filesystem::remove_all(data_directory);
    std::filesystem::rename(backup, data_directory);
  });

  const auto restored = load_run::clock::now();
  for (const auto& realm : writer) realm->session().resume();
  const auto expected = writer.size() + reader.size();
  while (resets.load() < expected && !run.should_stop())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  report.client_resets = resets.load();
  report.reset_s = std::chrono::duration<double>(load_run::clock::now() - restored).count();
  if (report.client_resets < expected) {
    run.record_error(std::to_string(expected - report.client_resets) +
                     " realms did not finish their client reset");
  }
  const auto uploaded = wait_all_uploaded(run, writer);
  wait_all_downloaded(run, reader);
  wait_all_downloaded(run, writer);
  report.duration_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.writes_committed = run.counters().writes_committed;
  report.writes_acked = uploaded == writer.size() ? report.writes_committed : 0;
  std::uint64_t wrong = 0;
  for (std::size_t i = 0; i < writer.size() && i < reader.size(); ++i)
    wrong += check_realm(run, *writer[i], *reader[i], kept, lost) ? 0 : 1;
  report.convergence_checked = true;
  report.converged = wrong == 0 && writer.size() == options.realms;
  run.stop_progress();
}

}  // namespace actorsync::load
