// Recovery after an outage, old reconnect policy against the new one in the same run (issue 17,
// item 6). Not Google Benchmark: one figure per client and round, printed as a table.
//
// actorsync-server runs as a child process behind the fault proxy. 2 x --clients apps (one realm
// and one link each) connect through the proxy; half use the old backoff (1 s doubling to
// 5 minutes, -25 % jitter, reset after 10 s healthy), half the new defaults (backoff_config{}).
// Each round: every app has an acknowledged write; the proxy cuts every connection and refuses
// new ones for --outage seconds; every app writes once during the outage and waits for its
// upload; the proxy heals. Measured from the heal: until each app's session is connected again
// ("recovery") and until its outage write is acknowledged ("write"), and the connection attempts
// each app made during the outage (its retryable error events but the cut's). Between rounds every
// app stays connected for --gap seconds (longer than both policies' healthy_after).
//
//   bench_reconnect [--clients 8] [--outage 20] [--rounds 3] [--gap 12]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/support/fault_proxy.hpp"
#include "tests/support/sync_workload.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/server_process/server_process.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using actorsync::runtime::connection_state;

const std::string secret = "bench-reconnect-secret-0123456789abcdef";

struct options {
  int clients = 8;  // per policy
  int outage_s = 20;
  int rounds = 3;
  int gap_s = 12;
};

/// One app with one realm, and what its callbacks saw (runtime threads write, main reads).
struct client {
  std::string policy;
  std::unique_ptr<actorsync::api::app> app;
  std::shared_ptr<actorsync::api::realm> realm;
  std::mutex mutex;
  std::optional<clock_type::time_point> connected_at;  // the latest transition to connected
  std::uint64_t retryable_errors = 0;
  actorsync::api::notification_token connection_token{};
};

struct sample {
  std::string policy;
  double recovery_s = 0;
  double write_s = 0;
  std::uint64_t attempts = 0;
};

double seconds_since(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

bool commit_one(actorsync::api::realm& realm, int n) {
  return realm.begin_write()
      .create_object("items", "i" + std::to_string(n))
      .set_field("items", "i" + std::to_string(n), "n", static_cast<std::int64_t>(n))
      .commit()
      .ok();
}

std::string summary(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  char text[96];
  std::snprintf(text, sizeof text, "%.2f / %.2f / %.2f s", values.front(),
                values[values.size() / 2], values.back());
  return text;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const int value = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--clients"))
      o.clients = value;
    else if (!std::strcmp(argv[i], "--outage"))
      o.outage_s = value;
    else if (!std::strcmp(argv[i], "--rounds"))
      o.rounds = value;
    else if (!std::strcmp(argv[i], "--gap"))
      o.gap_s = value;
    else
      throw std::runtime_error(std::string("unknown option ") + argv[i]);
  }
  if (o.clients < 1 || o.outage_s < 1 || o.rounds < 1 || o.gap_s < 0)
    throw std::runtime_error("every option must be positive");
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace actorsync;
  const auto opts = parse(argc, argv);
  testing::temp_dir root;
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, root.path() / "server-data",
                               root.path() / "secret", {"--log-level", "warning", "--no-metrics"});
  testing::fault_proxy proxy(server.ws_port());

  runtime::backoff_config old_policy;
  old_policy.initial = 1s;
  old_policy.maximum = 5min;
  old_policy.max_jitter = 0.25;
  old_policy.healthy_after = 10s;
  const runtime::backoff_config new_policy{};

  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 2 * opts.clients; ++i) {
    auto c = std::make_unique<client>();
    c->policy = i % 2 == 0 ? "old" : "new";
    api::app_config config;
    config.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port());
    config.data_directory = root.path() / ("client" + std::to_string(i));
    config.backoff = i % 2 == 0 ? old_policy : new_policy;
    config.scheduler_threads = 1;
    config.log_level = runtime::log_level::off;
    config.error_handler = [raw = c.get()](const runtime::session_error_event& e) {
      std::lock_guard lock(raw->mutex);
      if (!e.fatal) ++raw->retryable_errors;
    };
    c->app = std::make_unique<api::app>(config);
    c->realm = c->app->open_realm("/bench/r" + std::to_string(i),
                                  testing::credentials_for("user" + std::to_string(i), secret));
    c->connection_token = c->realm->session().add_connection_notification(
        [raw = c.get()](connection_state, connection_state to) {
          if (to != connection_state::connected) return;
          std::lock_guard lock(raw->mutex);
          raw->connected_at = clock_type::now();
        });
    clients.push_back(std::move(c));
  }

  int written = 0;
  std::vector<sample> samples;
  for (int round = 0; round < opts.rounds; ++round) {
    // Healthy: every app has an acknowledged write and stays connected for the gap.
    ++written;
    for (auto& c : clients)
      if (!commit_one(*c->realm, written)) throw std::runtime_error("commit failed");
    for (auto& c : clients)
      if (!c->realm->session().upload_all_local_changes().get())
        throw std::runtime_error("healthy upload failed");
    std::this_thread::sleep_for(std::chrono::seconds(opts.gap_s));

    std::vector<std::uint64_t> errors_before;
    for (auto& c : clients) {
      std::lock_guard lock(c->mutex);
      errors_before.push_back(c->retryable_errors);
    }
    proxy.set_refusing(true);
    proxy.cut_all();
    ++written;
    std::vector<std::future<runtime::wait_outcome>> waits;
    for (auto& c : clients) {
      if (!commit_one(*c->realm, written)) throw std::runtime_error("commit failed");
      waits.push_back(c->realm->session().upload_all_local_changes());
    }
    std::this_thread::sleep_for(std::chrono::seconds(opts.outage_s));
    std::vector<std::uint64_t> outage_attempts;
    for (std::size_t i = 0; i < clients.size(); ++i) {
      std::lock_guard lock(clients[i]->mutex);
      // One error for the cut, then one per refused attempt.
      const auto errors = clients[i]->retryable_errors - errors_before[i];
      outage_attempts.push_back(errors > 0 ? errors - 1 : 0);
    }
    const auto healed = clock_type::now();
    proxy.set_refusing(false);

    std::vector<std::optional<double>> write_s(clients.size());
    for (std::size_t done = 0; done < clients.size();) {
      done = 0;
      for (std::size_t i = 0; i < clients.size(); ++i) {
        if (!write_s[i] && waits[i].wait_for(0s) == std::future_status::ready) {
          if (!waits[i].get()) throw std::runtime_error("outage upload failed");
          write_s[i] = seconds_since(healed, clock_type::now());
        }
        done += write_s[i] ? 1 : 0;
      }
      std::this_thread::sleep_for(5ms);  // a benchmark's poll, not a test's synchronisation
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      std::lock_guard lock(clients[i]->mutex);
      const auto at = clients[i]->connected_at.value_or(healed);
      samples.push_back({clients[i]->policy, std::max(0.0, seconds_since(healed, at)), *write_s[i],
                         outage_attempts[i]});
    }
    std::cerr << "round " << round + 1 << " of " << opts.rounds << " done\n";
  }

  std::cout << "| policy | clients x rounds | outage | heal to connected, min / median / max | "
               "heal to outage write acknowledged, min / median / max | attempts during the "
               "outage, min / median / max |\n|---|---:|---:|---|---|---|\n";
  for (const std::string policy : {"old", "new"}) {
    std::vector<double> recovery, write, attempts;
    for (const auto& s : samples) {
      if (s.policy != policy) continue;
      recovery.push_back(s.recovery_s);
      write.push_back(s.write_s);
      attempts.push_back(static_cast<double>(s.attempts));
    }
    std::sort(attempts.begin(), attempts.end());
    std::cout << "| " << policy << " | " << opts.clients << " x " << opts.rounds << " | "
              << opts.outage_s << " s | " << summary(recovery) << " | " << summary(write) << " | "
              << attempts.front() << " / " << attempts[attempts.size() / 2] << " / "
              << attempts.back() << " |\n";
  }
  for (auto& c : clients) c->realm->close(true);
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_reconnect: " << e.what() << "\n";
  return 1;
}
