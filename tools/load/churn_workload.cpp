#include <random>
#include <string>
#include <string_view>
#include <thread>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "server/process_stats.hpp"
#include "tools/load/workloads.hpp"

namespace actorsync::load {

namespace {

constexpr std::size_t replicas = 2;

// One replica's view of one realm while churning.
struct replica_slot {
  std::shared_ptr<api::realm> realm;
  bool paused = false;
};

enum class churn_action { write, add, pause, resume, reopen };

churn_action pick_action(std::mt19937_64& random) {
  const auto roll = random() % 100;
  if (roll < 55) return churn_action::write;
  if (roll < 70) return churn_action::add;
  if (roll < 80) return churn_action::pause;
  if (roll < 92) return churn_action::resume;
  return churn_action::reopen;
}

void commit_or_count(load_run& run, replica_slot& slot, storage::write_transaction tx) {
  if (tx.commit()) {
    ++run.counters().writes_committed;
  } else {
    run.record_error(slot.realm->path() + ": commit failed");
  }
}

// "t3" and the like. Appended, not `"t" + std::to_string(n)`: GCC 12 at -O3 reports a false
// -Wrestrict overlap in that operator+ (GCC bug 105651), which -Werror turns into an error.
std::string numbered(std::string_view prefix, std::uint64_t n) {
  return std::string(prefix).append(std::to_string(n));
}

void apply(load_run& run, api::app& owner, std::uint64_t realm_index, replica_slot& slot,
           churn_action action, std::mt19937_64& random) {
  switch (action) {
    case churn_action::write: {
      const auto field = numbered("f", random() % 8);
      auto tx = slot.realm->begin_write();
      tx.create_object("things", numbered("t", random() % 4))
          .set_field("things", numbered("t", random() % 4), field,
                     static_cast<std::int64_t>(random() % 1000));
      commit_or_count(run, slot, std::move(tx));
      break;
    }
    case churn_action::add: {
      auto tx = slot.realm->begin_write();
      tx.create_object("counters", "c").add_integer("counters", "c", "n", 1);
      commit_or_count(run, slot, std::move(tx));
      break;
    }
    case churn_action::pause:
      slot.realm->session().pause();
      slot.paused = true;
      break;
    case churn_action::resume:
      slot.realm->session().resume();
      slot.paused = false;
      break;
    case churn_action::reopen: {
      // Closing lets the session finish its uploads; the reopened realm carries on from disk.
      const auto user = run.user_for(realm_index);
      slot.realm->close();
      slot.realm.reset();
      slot.realm = owner.open_realm(load_run::realm_path(realm_index), {user, run.token_for(user)});
      run.observe(owner, slot.realm->session());
      break;
    }
  }
}

}  // namespace

void run_churn(load_run& run, pid_t server_pid) {
  const auto& options = run.options();
  auto& report = run.report();
  std::mt19937_64 random(options.seed);
  const auto base_client = process::resident_bytes();
  const auto base_server = server_pid > 0 ? process::resident_bytes(server_pid) : 0;
  run.start_progress(options.realms * replicas, options.realms * options.writes);

  std::vector<api::app*> apps;
  std::vector<std::vector<replica_slot>> slots(replicas);
  for (std::size_t x = 0; x < replicas; ++x) {
    apps.push_back(&run.make_app("replica-" + std::to_string(x)));
    for (auto& realm : open_realms(run, *apps[x], options.realms))
      slots[x].push_back({realm, false});
  }
  report.sessions = options.realms * replicas;
  const auto t0 = load_run::clock::now();
  const auto steps = options.realms * options.writes * replicas;
  for (std::uint64_t step = 0; step < steps && !run.should_stop(); ++step) {
    const auto x = random() % replicas;
    const auto r = random() % options.realms;
    apply(run, *apps[x], r, slots[x][r], pick_action(random), random);
  }

  // Settle: resume everything, upload everything, then download everything, then compare.
  std::vector<std::vector<std::shared_ptr<api::realm>>> realms(replicas);
  for (std::size_t x = 0; x < replicas; ++x) {
    for (auto& slot : slots[x]) {
      if (slot.paused) slot.realm->session().resume();
      realms[x].push_back(slot.realm);
    }
  }
  std::uint64_t uploaded = 0;
  for (auto& replica : realms) uploaded += wait_all_uploaded(run, replica);
  for (auto& replica : realms) wait_all_downloaded(run, replica);
  report.duration_s = std::chrono::duration<double>(load_run::clock::now() - t0).count();
  report.writes_committed = run.counters().writes_committed;
  // Every replica's upload wait covers all its commits, so all were acknowledged iff all waits were
  // ok.
  report.writes_acked = uploaded == options.realms * replicas ? report.writes_committed : 0;
  report.writes_per_s =
      report.duration_s > 0 ? static_cast<double>(report.writes_acked) / report.duration_s : 0;

  std::uint64_t diverged = 0;
  for (std::uint64_t r = 0; r < options.realms; ++r) {
    const auto digest = realms[0][r]->read().content_digest();
    for (std::size_t x = 1; x < replicas; ++x) {
      if (realms[x][r]->read().content_digest() != digest) {
        ++diverged;
        run.record_error(load_run::realm_path(r) + ": replicas diverged");
      }
    }
  }
  report.convergence_checked = true;
  report.converged = diverged == 0 && !run.interrupted();
  measure_footprint(run, report.sessions, base_client, base_server, server_pid);
  run.stop_progress();
}

}  // namespace actorsync::load
