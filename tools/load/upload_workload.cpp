#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "protocol/codec.hpp"
#include "server/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {

constexpr std::size_t writer_threads = 6;
const std::string payload(64, 'x');  // the ~64-byte value every write sets

std::uint64_t changeset_bytes() {
  protocol::changeset c;
  c.client_version = 1;
  c.instructions = {protocol::create_object{"items", "item-00000"},
                    protocol::set_field{"items", "item-00000", "payload", payload}};
  return protocol::encoded_size(c);
}

// The writes of one realm waiting for their acknowledgement. One upload wait per realm is in
// flight at a time and covers every write committed before it was issued; writes committed
// meanwhile wait for the next one, issued when it completes. A write's latency runs from its
// own start to the completion of the wait covering it, which is at or after its
// acknowledgement (never earlier), while a wait per write cost two runtime messages per write.
struct realm_acks {
  std::mutex mutex;
  bool waiting = false;
  std::uint64_t committed = 0;     ///< writes item-0 .. item-(committed-1)
  std::uint64_t acknowledged = 0;  ///< a prefix of them: waits complete in commit order
  std::vector<load_run::clock::time_point> pending;  ///< committed, not covered by a wait yet
};

/// Starts a wait for the pending writes unless one is in flight. Called with `from_wait` by a
/// completing wait, which hands over its in-flight role: `waiting` only turns false once nothing
/// is pending, and after that no callback touches the realm (the run then may drop it).
std::vector<load_run::clock::time_point> take_pending(realm_acks& acks, bool from_wait) {
  std::lock_guard lock(acks.mutex);
  if (acks.waiting && !from_wait) return {};
  acks.waiting = !acks.pending.empty();
  return std::exchange(acks.pending, {});
}

bool in_flight(realm_acks& acks) {
  std::lock_guard lock(acks.mutex);
  return acks.waiting;
}

void issue_wait(load_run& run, const std::weak_ptr<api::realm>& weak_realm,
                const std::shared_ptr<realm_acks>& acks, std::uint64_t bytes, bool from_wait) {
  auto covered = take_pending(*acks, from_wait);
  if (covered.empty()) return;
  auto realm = weak_realm.lock();  // alive while `waiting` is set, unless the run was stopped
  if (!realm) return;
  realm->session().upload_all_local_changes(
      run.wait_timeout(), [&run, weak_realm, acks, bytes, covered = std::move(covered),
                           path = realm->path()](runtime::wait_outcome outcome) {
        const auto now = load_run::clock::now();
        if (outcome) {
          std::lock_guard lock(acks->mutex);
          acks->acknowledged += covered.size();
        }
        for (const auto start : covered) {
          if (outcome) {
            run.record_latency(std::chrono::duration_cast<std::chrono::microseconds>(now - start));
            ++run.counters().writes_acked;
            run.counters().bytes_acked += bytes;
          } else {
            run.record_error(path + ": upload wait: " + describe(outcome));
          }
        }
        issue_wait(run, weak_realm, acks, bytes, true);  // for the writes committed meanwhile
      });
}

// Commits one write; its acknowledgement is awaited by the realm's wait (see realm_acks).
void write_once(load_run& run, const std::shared_ptr<api::realm>& shared_realm,
                const std::shared_ptr<realm_acks>& acks, std::uint64_t index,
                load_run::clock::time_point start, std::uint64_t bytes) {
  auto& realm = *shared_realm;
  const auto id = "item-" + std::to_string(index);
  auto tx = realm.begin_write();
  tx.create_object("items", id).set_field("items", id, "payload", payload);
  auto committed = tx.commit();
  if (!committed) {
    run.record_error(realm.path() + ": commit failed: " + committed.error().message);
    return;
  }
  ++run.counters().writes_committed;
  {
    std::lock_guard lock(acks->mutex);
    acks->pending.push_back(start);
    ++acks->committed;
  }
  issue_wait(run, shared_realm, acks, bytes, false);
}

// Each writer owns every writer_threads-th realm and writes to them round-robin. With a rate,
// write i of the run is due at t0 + i/rate and its latency counts from then, so a stalled
// writer's backlog shows in the figures (no coordinated omission).
void writer(load_run& run, std::vector<std::shared_ptr<api::realm>>& realms,
            const std::vector<std::shared_ptr<realm_acks>>& acks, std::size_t slot,
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
      write_once(run, realms[r], acks[r], w, start, bytes);
    }
  }
}

// --verify: a fresh replica downloads every realm; each acknowledged write must be there, and
// nothing that was never committed.
void verify(load_run& run, const std::vector<std::shared_ptr<realm_acks>>& acks) {
  auto& report = run.report();
  auto& verifier = run.make_app("verifier");
  auto copies = open_realms(run, verifier, acks.size());
  wait_all_downloaded(run, copies);
  for (std::size_t r = 0; r < copies.size(); ++r) {
    std::uint64_t committed = 0, acknowledged = 0;
    {
      std::lock_guard lock(acks[r]->mutex);
      committed = acks[r]->committed;
      acknowledged = acks[r]->acknowledged;
    }
    std::vector<bool> found(committed, false);
    copies[r]->read().for_each_object("items", [&](const std::string& id, const auto&) {
      const auto index = id.starts_with("item-") ? std::strtoull(id.c_str() + 5, nullptr, 10) : 0;
      if (!id.starts_with("item-") || index >= committed || found[index]) {
        ++report.verify_unexpected;
        run.record_error(copies[r]->path() + ": unexpected object " + id);
      } else {
        found[index] = true;
      }
    });
    for (std::uint64_t i = 0; i < acknowledged; ++i) {
      if (found[i]) continue;
      ++report.verify_missing;
      run.record_error(copies[r]->path() + ": acknowledged write item-" + std::to_string(i) +
                       " is missing");
    }
  }
  report.verified = true;
}

}  // namespace

void run_upload(load_run& run, pid_t server_pid) {
  auto& report = run.report();
  auto& counters = run.counters();
  auto& client = run.make_app("client");
  const auto base_client = process::resident_bytes();
  const auto base_server = server_pid > 0 ? process::resident_bytes(server_pid) : 0;
  const auto expected = run.options().realms * run.options().writes;
  run.start_progress(run.options().realms, expected);

  const auto bind0 = load_run::clock::now();
  auto realms = open_realms(run, client, run.options().realms);
  wait_all_downloaded(run, realms);
  report.bind_all_s = std::chrono::duration<double>(load_run::clock::now() - bind0).count();
  report.sessions = realms.size();
  measure_footprint(run, realms.size(), base_client, base_server, server_pid);

  const auto bytes = changeset_bytes();
  std::vector<std::shared_ptr<realm_acks>> acks;
  for (std::size_t r = 0; r < realms.size(); ++r) acks.push_back(std::make_shared<realm_acks>());
  const auto t0 = load_run::clock::now();
  std::vector<std::thread> writers;
  for (std::size_t slot = 0; slot < writer_threads; ++slot) {
    writers.emplace_back([&, slot] { writer(run, realms, acks, slot, t0, bytes); });
  }
  for (auto& t : writers) t.join();
  // Every committed write must be acknowledged or reported as an error.
  while (!run.settling_over() &&
         counters.writes_acked + counters.errors < counters.writes_committed) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The last completions may still be running their callbacks: the realms stay until they
  // are done (see take_pending).
  for (const auto& a : acks) {
    while (!run.settling_over() && in_flight(*a))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  report.duration_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.writes_committed = counters.writes_committed;
  report.writes_acked = counters.writes_acked;
  report.writes_per_s =
      report.duration_s > 0 ? static_cast<double>(report.writes_acked) / report.duration_s : 0;
  report.mb_per_s = report.duration_s > 0
                        ? static_cast<double>(counters.bytes_acked) / 1e6 / report.duration_s
                        : 0;
  if (run.options().verify && !run.interrupted()) verify(run, acks);
  run.stop_progress();
}

}  // namespace actorsync::load
