// Recovery after an outage (issue 17, item 6): a client behind the fault proxy loses its healthy
// link (the proxy cuts it) and the proxy refuses its next N connection attempts, then heals. The
// outage ends after a number of attempts, not after a time, so the test counts instead of
// timing: the client reports one retryable error per attempt, each with the delay until the next
// one; the first delay after the healthy link is at most the initial delay, none is above the
// configured cap nor above what the doubling allows at that attempt, and the first attempt after
// the heal connects (the proxy saw exactly N + 1 attempts) and uploads what was written during
// the outage. Two outages in a row: the second starts again from the initial delay.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/support/eventually.hpp"
#include "tests/support/fault_proxy.hpp"
#include "tests/support/sync_workload.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

using namespace std::chrono_literals;
using runtime::connection_state;

const std::string secret = "fault-tests-secret-0123456789abcdef";
constexpr auto deadline = std::chrono::seconds(60);  // only ever fails the test

// Short delays so the outage lasts a few seconds at most: 12 attempts under a 400 ms cap.
constexpr auto initial = 50ms;
constexpr auto cap = 400ms;
constexpr std::uint64_t refused_attempts = 12;

/// The error events the app's error handler received, from runtime threads.
struct error_log {
  std::mutex mutex;
  std::vector<runtime::session_error_event> events;

  void add(const runtime::session_error_event& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
  std::vector<runtime::session_error_event> since(std::size_t from) {
    std::lock_guard lock(mutex);
    return {events.begin() + static_cast<std::ptrdiff_t>(from), events.end()};
  }
};

bool uploaded(api::sync_session& session) {
  auto wait = session.upload_all_local_changes();
  if (wait.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "the upload wait hung";
    return false;
  }
  return bool(wait.get());
}

TEST(ReconnectAfterOutage, FirstAttemptAfterTheHealConnectsAndNoDelayExceedsThePolicy) {
  temp_dir root;
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, root.path() / "server-data",
                               root.path() / "secret", {"--log-level", "warning", "--no-metrics"});
  fault_proxy proxy(server.ws_port());

  error_log errors;
  api::app_config config;
  config.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port());
  config.data_directory = root.path() / "client";
  config.request_timeout = deadline;
  config.backoff.initial = initial;
  config.backoff.maximum = cap;
  // Any link that came up counts as healthy: the link cut below had carried an acknowledged
  // write, and the test must not wait for a time to make it so.
  config.backoff.healthy_after = 0ms;
  config.error_handler = [&errors](const runtime::session_error_event& e) { errors.add(e); };
  config.log_level = runtime::log_level::warn;
  api::app app(config);
  auto realm = app.open_realm("/outage", credentials_for("outage-user", secret));
  auto& session = realm->session();

  int written = 0;
  ASSERT_TRUE(commit_numbered(*realm, written++));
  ASSERT_TRUE(uploaded(session));

  for (int outage = 0; outage < 2; ++outage) {
    SCOPED_TRACE("outage " + std::to_string(outage));
    const auto errors_before = errors.size();
    const auto attempts_before = proxy.accepted_connections();
    const auto refused_before = proxy.refused_connections();

    // The outage: the healthy link is cut and the next attempts are refused.
    proxy.refuse_next(refused_attempts);
    proxy.cut_all();
    ASSERT_TRUE(commit_numbered(*realm, written++));  // written while the network is down
    ASSERT_TRUE(uploaded(session));                   // acknowledged after the heal

    // The lost link, then one error per refused attempt; nothing after the heal.
    const auto expected_errors = 1 + refused_attempts;
    ASSERT_TRUE(
        eventually([&] { return errors.size() >= errors_before + expected_errors; }, deadline))
        << errors.size() - errors_before << " errors";
    const auto seen = errors.since(errors_before);
    EXPECT_EQ(seen.size(), expected_errors);
    EXPECT_EQ(proxy.refused_connections() - refused_before, refused_attempts);
    EXPECT_EQ(proxy.accepted_connections() - attempts_before, refused_attempts + 1)
        << "the first attempt after the heal did not connect";
    EXPECT_EQ(session.connection_state(), connection_state::connected);

    // Every delay within what the policy allows at that attempt: the base starts at `initial`
    // after the healthy link, doubles, and stops at the cap.
    auto allowed = initial;
    for (std::size_t i = 0; i < seen.size(); ++i) {
      EXPECT_FALSE(seen[i].fatal) << i << ": " << seen[i].message;
      EXPECT_GT(seen[i].retry_in, 0ms) << i;
      EXPECT_LE(seen[i].retry_in, allowed) << i;
      EXPECT_LE(seen[i].retry_in, cap) << i;
      allowed = std::min<std::chrono::milliseconds>(allowed * 2, cap);
    }
    EXPECT_LE(seen.front().retry_in, initial) << "the first retry after a healthy link";
    std::chrono::milliseconds total{0};
    for (const auto& e : seen) total += e.retry_in;
    std::cout << "[ outage " << outage << " ] " << seen.size() << " errors, "
              << proxy.accepted_connections() - attempts_before << " attempts, delays summing to "
              << total.count() << " ms, longest "
              << std::max_element(
                     seen.begin(), seen.end(),
                     [](const auto& a, const auto& b) { return a.retry_in < b.retry_in; })
                     ->retry_in.count()
              << " ms\n";
  }
  const auto meta = realm->read().metadata();
  EXPECT_EQ(meta.acknowledged_client_version, meta.latest_client_version);
  EXPECT_EQ(meta.latest_client_version, static_cast<std::uint64_t>(written));
  realm->close(true);
}

}  // namespace
}  // namespace actorsync::testing
