#include <algorithm>
#include <thread>

#include "api/app.hpp"
#include "api/realm.hpp"
#include "protocol/codec.hpp"
#include "tools/load/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {

constexpr std::size_t writer_threads = 2;
const std::string payload(64, 'x');  // the ~64-byte value every write sets

std::uint64_t changeset_bytes() {
  protocol::changeset c;
  c.client_version = 1;
  c.instructions = {protocol::create_object{"items", "item-00000"},
                    protocol::set_field{"items", "item-00000", "payload", payload}};
  return protocol::encoded_size(c);
}

// Commits one write and waits for its acknowledgement; latency runs from `start`.
void write_once(load_run& run, api::realm& realm, std::uint64_t index,
                load_run::clock::time_point start, std::uint64_t bytes) {
  const auto id = "item-" + std::to_string(index);
  auto tx = realm.begin_write();
  tx.create_object("items", id).set_field("items", id, "payload", payload);
  auto committed = tx.commit();
  if (!committed) {
    run.record_error(realm.path() + ": commit failed: " + committed.error().message);
    return;
  }
  ++run.counters().writes_committed;
  realm.session().upload_all_local_changes(
      std::nullopt, [&run, start, bytes, path = realm.path()](runtime::wait_outcome outcome) {
        if (outcome) {
          run.record_latency(std::chrono::duration_cast<std::chrono::microseconds>(
              load_run::clock::now() - start));
          ++run.counters().writes_acked;
          run.counters().bytes_acked += bytes;
        } else {
          run.record_error(path + ": upload wait ended " +
                           std::to_string(static_cast<int>(outcome.status)));
        }
      });
}

// Each writer owns every writer_threads-th realm and writes to them round-robin. With a rate,
// write i of the run is due at t0 + i/rate and its latency counts from then, so a stalled
// writer's backlog shows in the figures (no coordinated omission).
void writer(load_run& run, std::vector<std::shared_ptr<api::realm>>& realms, std::size_t slot,
            load_run::clock::time_point t0, std::uint64_t bytes) {
  const auto rate = run.options().rate;
  for (std::uint64_t w = 0; w < run.options().writes; ++w) {
    for (std::size_t r = slot; r < realms.size(); r += writer_threads) {
      if (run.should_stop()) return;
      auto start = load_run::clock::now();
      if (rate > 0) {
        const auto due =
            t0 +
            std::chrono::duration_cast<load_run::clock::duration>(
                std::chrono::duration<double>(static_cast<double>(w * realms.size() + r) / rate));
        std::this_thread::sleep_until(due);
        start = due;
      }
      write_once(run, *realms[r], w, start, bytes);
    }
  }
}

}  // namespace

void run_upload(load_run& run, pid_t server_pid) {
  auto& report = run.report();
  auto& counters = run.counters();
  auto& client = run.make_app("client");
  const auto base_client = resident_bytes();
  const auto base_server = server_pid > 0 ? resident_bytes(server_pid) : 0;
  const auto expected = run.options().realms * run.options().writes;
  run.start_progress(run.options().realms, expected);

  const auto bind0 = load_run::clock::now();
  auto realms = open_realms(run, client, run.options().realms);
  wait_all_downloaded(run, realms);
  report.bind_all_s = std::chrono::duration<double>(load_run::clock::now() - bind0).count();
  report.sessions = realms.size();
  measure_footprint(run, realms.size(), base_client, base_server, server_pid);

  const auto bytes = changeset_bytes();
  const auto t0 = load_run::clock::now();
  std::vector<std::thread> writers;
  for (std::size_t slot = 0; slot < writer_threads; ++slot) {
    writers.emplace_back([&, slot] { writer(run, realms, slot, t0, bytes); });
  }
  for (auto& t : writers) t.join();
  // Every committed write must be acknowledged or reported as an error.
  while (!run.should_stop() &&
         counters.writes_acked + counters.errors < counters.writes_committed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  report.duration_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.writes_committed = counters.writes_committed;
  report.writes_acked = counters.writes_acked;
  report.writes_per_s =
      report.duration_s > 0 ? static_cast<double>(report.writes_acked) / report.duration_s : 0;
  report.mb_per_s = report.duration_s > 0
                        ? static_cast<double>(counters.bytes_acked) / 1e6 / report.duration_s
                        : 0;
  run.stop_progress();
}

}  // namespace actorsync::load
