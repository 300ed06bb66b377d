#include <algorithm>
#include <thread>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "server/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {

// What one reader replica has seen of one realm; touched only from that session's callbacks.
struct reader_cursor {
  std::shared_ptr<api::realm> realm;
  std::atomic<std::int64_t> seen{0};  ///< written by its download callback, read when settling
};

struct fanout_state {
  std::uint64_t realms = 0;
  std::uint64_t writes = 0;
  // commit_ns[realm][seq]: steady-clock time the write started, published before the commit.
  std::vector<std::unique_ptr<std::atomic<std::int64_t>[]>> commit_ns;
  /// Per realm, the newest seq committed: less than `writes` when --max-duration stopped the
  /// writers, and then what the readers must reach.
  std::unique_ptr<std::atomic<std::int64_t>[]> last_committed;
  std::atomic<std::uint64_t> visible{0};
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             load_run::clock::now().time_since_epoch())
      .count();
}

// Called after a reader integrated a download: every newly visible write gets its latency.
void on_download(load_run& run, fanout_state& state, std::size_t realm_index,
                 reader_cursor& cursor) {
  const auto value = cursor.realm->read().get_field("feed", "writer", "seq");
  if (!value) return;
  const auto* seq = std::get_if<std::int64_t>(&*value);
  const auto seen = cursor.seen.load();
  if (seq == nullptr || *seq <= seen) return;
  const auto now = now_ns();
  for (auto s = seen + 1; s <= *seq; ++s) {
    const auto started = state.commit_ns[realm_index][static_cast<std::size_t>(s)].load();
    run.record_latency(std::chrono::microseconds((now - started) / 1000));
    ++state.visible;
  }
  cursor.seen = *seq;
}

// Reader replicas that saw the newest committed write of their realm.
std::uint64_t caught_up(const fanout_state& state,
                        const std::vector<std::vector<std::unique_ptr<reader_cursor>>>& readers) {
  std::uint64_t count = 0;
  for (const auto& replica : readers) {
    for (std::size_t r = 0; r < replica.size(); ++r)
      if (replica[r]->seen.load() >= state.last_committed[r].load()) ++count;
  }
  return count;
}

}  // namespace

void run_fanout(load_run& run, pid_t server_pid) {
  const auto& options = run.options();
  auto& report = run.report();
  auto& counters = run.counters();
  fanout_state state;
  state.realms = options.realms;
  state.writes = options.writes;
  for (std::uint64_t r = 0; r < state.realms; ++r) {
    state.commit_ns.emplace_back(new std::atomic<std::int64_t>[state.writes + 1]);
  }
  state.last_committed.reset(new std::atomic<std::int64_t>[state.realms]);
  for (std::uint64_t r = 0; r < state.realms; ++r) state.last_committed[r] = 0;
  const auto base_client = process::resident_bytes();
  const auto base_server = server_pid > 0 ? process::resident_bytes(server_pid) : 0;
  run.start_progress(state.realms * (options.readers + 1), state.realms * state.writes);

  auto& writer_app = run.make_app("writer");
  auto writers = open_realms(run, writer_app, state.realms);
  std::vector<std::vector<std::unique_ptr<reader_cursor>>> readers(options.readers);
  for (std::uint64_t i = 0; i < options.readers; ++i) {
    auto& reader_app = run.make_app("reader-" + std::to_string(i));
    for (auto& realm : open_realms(run, reader_app, state.realms)) {
      readers[i].push_back(std::make_unique<reader_cursor>());
      readers[i].back()->realm = realm;
    }
  }
  // Register the visibility probes, then bind everything before the clock starts.
  for (auto& replica : readers) {
    for (std::size_t r = 0; r < replica.size(); ++r) {
      auto* cursor = replica[r].get();
      // The probe lives as long as its realm: the token is released, never removed.
      (void)cursor->realm->session()
          .add_progress_notification(runtime::progress_direction::download,
                                     runtime::progress_mode::report_indefinitely,
                                     [&run, &state, r, cursor](const runtime::transfer_progress&) {
                                       on_download(run, state, r, *cursor);
                                     })
          .release();
    }
  }
  const auto bind0 = load_run::clock::now();
  wait_all_downloaded(run, writers);
  for (auto& replica : readers) {
    std::vector<std::shared_ptr<api::realm>> realms;
    for (auto& c : replica) realms.push_back(c->realm);
    wait_all_downloaded(run, realms);
  }
  report.bind_all_s = std::chrono::duration<double>(load_run::clock::now() - bind0).count();
  report.sessions = state.realms * (options.readers + 1);
  measure_footprint(run, report.sessions, base_client, base_server, server_pid);

  // Steady writes: write seq of realm r is due at t0 + (seq * realms + r) / rate.
  const double rate = options.rate > 0 ? options.rate : 1000.0;
  const auto t0 = load_run::clock::now();
  for (std::uint64_t seq = 1; seq <= state.writes && !run.should_stop(); ++seq) {
    for (std::uint64_t r = 0; r < state.realms && !run.should_stop(); ++r) {
      const auto due =
          t0 + std::chrono::duration_cast<load_run::clock::duration>(std::chrono::duration<double>(
                   static_cast<double>((seq - 1) * state.realms + r) / rate));
      std::this_thread::sleep_until(due);
      state.commit_ns[r][seq] = now_ns();
      auto tx = writers[r]->begin_write();
      tx.create_object("feed", "writer")
          .set_field("feed", "writer", "seq", static_cast<std::int64_t>(seq));
      if (!tx.commit()) {
        run.record_error(writers[r]->path() + ": commit failed");
        continue;
      }
      ++counters.writes_committed;
      state.last_committed[r] = static_cast<std::int64_t>(seq);
      writers[r]->session().upload_all_local_changes(run.wait_timeout(),
                                                     [&counters](runtime::wait_outcome o) {
                                                       if (o) ++counters.writes_acked;
                                                     });
    }
  }
  const auto cursors = state.realms * options.readers;
  while (!run.settling_over() && (caught_up(state, readers) < cursors ||
                                  counters.writes_acked < counters.writes_committed)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  report.duration_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.writes_committed = counters.writes_committed;
  report.writes_acked = counters.writes_acked;
  report.writes_per_s =
      report.duration_s > 0 ? static_cast<double>(report.writes_acked) / report.duration_s : 0;
  if (const auto done = caught_up(state, readers); done < cursors) {
    run.record_error(std::to_string(cursors - done) + " reader replicas did not see every write");
  }
  run.stop_progress();
}

}  // namespace actorsync::load
