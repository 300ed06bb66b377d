// The keepalive against a connection that stays open but goes silent: a client behind the fault
// proxy with a short ping interval and pong timeout; the proxy holds the server's bytes (or both
// directions). The session reports the typed pong_timeout (error handler, connection state
// disconnected), a pending upload wait completes with it (cancel_waits_on_nonfatal_error), and
// once the stall ends the session connects again and a new wait is true.
#include <gtest/gtest.h>

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

using runtime::connection_state;
using runtime::sync_errc;

const std::string secret = "fault-tests-secret-0123456789abcdef";
constexpr auto deadline = std::chrono::seconds(60);  // only ever fails the test

/// What the runtime told the test, from its threads.
struct observed {
  std::mutex mutex;
  std::vector<runtime::session_error_event> errors;
  std::vector<std::pair<connection_state, connection_state>> transitions;

  void error(const runtime::session_error_event& e) {
    std::lock_guard lock(mutex);
    errors.push_back(e);
  }
  void transition(connection_state from, connection_state to) {
    std::lock_guard lock(mutex);
    transitions.emplace_back(from, to);
  }
  std::size_t error_count() {
    std::lock_guard lock(mutex);
    return errors.size();
  }
  std::optional<runtime::session_error_event> error_at(std::size_t i) {
    std::lock_guard lock(mutex);
    if (i >= errors.size()) return std::nullopt;
    return errors[i];
  }
  std::size_t transition_count() {
    std::lock_guard lock(mutex);
    return transitions.size();
  }
  /// The transitions from index `from` on.
  std::vector<std::pair<connection_state, connection_state>> transitions_since(std::size_t from) {
    std::lock_guard lock(mutex);
    return {transitions.begin() + static_cast<std::ptrdiff_t>(from), transitions.end()};
  }
};

enum class stall { server_to_client, both_directions };

void PrintTo(stall s, std::ostream* out) {
  *out << (s == stall::server_to_client ? "server_to_client" : "both_directions");
}

class PongTimeout : public ::testing::TestWithParam<stall> {};

runtime::wait_outcome finish(std::future<runtime::wait_outcome> wait) {
  if (wait.wait_for(deadline + std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the wait hung";
    return {runtime::wait_status::timed_out};
  }
  return wait.get();
}

TEST_P(PongTimeout, SilentLinkTripsPongTimeoutCancelsWaitsAndTheSessionRecovers) {
  temp_dir root;
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, root.path() / "server-data",
                               root.path() / "secret", {"--log-level", "warning", "--no-metrics"});
  fault_proxy proxy(server.ws_port());
  const api::user_credentials user = credentials_for("pong-user", secret);

  observed seen;
  api::app_config config;
  config.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port());
  config.data_directory = root.path() / "client";
  config.request_timeout = deadline;
  config.ping_interval = std::chrono::milliseconds(250);
  config.pong_timeout = std::chrono::milliseconds(1000);
  config.connect_timeout = std::chrono::seconds(2);
  config.backoff.initial = std::chrono::milliseconds(20);
  config.backoff.maximum = std::chrono::milliseconds(200);
  config.error_handler = [&seen](const runtime::session_error_event& e) { seen.error(e); };
  api::app app(config);
  api::realm_config cancelling;
  cancelling.cancel_waits_on_nonfatal_error = true;
  auto realm = app.open_realm("/pong", user, cancelling);
  auto& session = realm->session();
  auto observed = session.add_connection_notification(
      [&seen](connection_state from, connection_state to) { seen.transition(from, to); });

  // Healthy first: connected, and a write is acknowledged.
  ASSERT_TRUE(commit_numbered(*realm, 0));
  ASSERT_TRUE(finish(session.upload_all_local_changes()));
  ASSERT_TRUE(eventually([&] { return session.connection_state() == connection_state::connected; },
                         deadline));
  const auto errors_before = seen.error_count();
  const auto transitions_before = seen.transition_count();

  // Silence: the link stays open, but nothing from the server reaches the client.
  if (GetParam() == stall::server_to_client) {
    proxy.set_stalled(flow::to_client, true);
  } else {
    proxy.set_stalled(true);
  }
  ASSERT_TRUE(commit_numbered(*realm, 1));
  const auto pending = finish(session.upload_all_local_changes());
  EXPECT_EQ(pending, (runtime::wait_outcome{runtime::wait_status::error, sync_errc::pong_timeout}));
  const auto first = seen.error_at(errors_before);
  ASSERT_TRUE(first.has_value()) << "no error reported";
  EXPECT_EQ(first->code, sync_errc::pong_timeout) << first->message;
  EXPECT_FALSE(first->fatal);
  EXPECT_EQ(first->realm, "/pong");
  ASSERT_TRUE(eventually([&] { return seen.transition_count() > transitions_before; }, deadline));
  EXPECT_EQ(seen.transitions_since(transitions_before).front(),
            std::make_pair(connection_state::connected, connection_state::disconnected));

  // The stall ends: the session connects again by itself and uploads what was written meanwhile.
  proxy.set_stalled(false);
  ASSERT_TRUE(eventually([&] { return session.connection_state() == connection_state::connected; },
                         deadline));
  ASSERT_TRUE(commit_numbered(*realm, 2));
  EXPECT_TRUE(finish(session.upload_all_local_changes()));
  const auto meta = realm->read().metadata();
  EXPECT_EQ(meta.acknowledged_client_version, meta.latest_client_version);
  EXPECT_EQ(meta.latest_client_version, 3u);
  EXPECT_GT(proxy.accepted_connections(), 1u);
  const auto after = seen.transitions_since(transitions_before);
  EXPECT_EQ(after.back().second, connection_state::connected);
  std::cout << "[ pong timeout ] " << seen.error_count() - errors_before << " errors, "
            << after.size() << " state changes, " << proxy.accepted_connections()
            << " connections\n";
  realm->close(true);
}

// Liveness is incoming bytes, not whole frames: a DOWNLOAD of about 1 MiB crawling through a
// throttled link takes longer than the pong timeout to arrive whole (the PONG queues behind it)
// yet must not be mistaken for silence, or the download restarts forever.
TEST(Keepalive, SlowLargeDownloadDoesNotTripThePongTimeout) {
  temp_dir root;
  std::ofstream(root.path() / "secret") << secret << "\n";
  tools::server_process server(ACTORSYNC_SERVER_BINARY, root.path() / "server-data",
                               root.path() / "secret", {"--log-level", "warning", "--no-metrics"});
  const api::user_credentials user = credentials_for("pong-user", secret);
  api::app_config config;
  config.data_directory = root.path() / "writer";
  config.server_url = "ws://127.0.0.1:" + std::to_string(server.ws_port());
  config.request_timeout = deadline;
  {
    api::app writer(config);
    auto realm = writer.open_realm("/big", user);
    for (int i = 0; i < 24; ++i) {
      ASSERT_TRUE(realm->begin_write()
                      .create_object("blobs", std::to_string(i))
                      .set_field("blobs", std::to_string(i), "data", std::string(50'000, 'b'))
                      .commit()
                      .ok());
    }
    ASSERT_TRUE(finish(realm->session().upload_all_local_changes()));
    realm->close(true);
  }

  fault_proxy proxy(server.ws_port());
  proxy.set_max_segment(4096);
  proxy.set_throttle(flow::to_client, 400'000);  // ~1 MiB frame: about 2.6 s, pong timeout 0.8 s
  observed seen;
  config.data_directory = root.path() / "reader";
  config.server_url = "ws://127.0.0.1:" + std::to_string(proxy.port());
  config.ping_interval = std::chrono::milliseconds(200);
  config.pong_timeout = std::chrono::milliseconds(800);
  config.error_handler = [&seen](const runtime::session_error_event& e) { seen.error(e); };
  api::app reader(config);
  auto copy = reader.open_realm("/big", user);
  EXPECT_TRUE(finish(copy->session().download_all_server_changes()));
  EXPECT_TRUE(copy->read().object_exists("blobs", "23"));
  EXPECT_EQ(seen.error_count(), 0u)
      << runtime::to_string(seen.error_at(0)->code) << " " << seen.error_at(0)->message;
  EXPECT_EQ(proxy.accepted_connections(), 1u);
  copy->close(true);
}

INSTANTIATE_TEST_SUITE_P(Stalls, PongTimeout,
                         ::testing::Values(stall::server_to_client, stall::both_directions),
                         [](const auto& info) {
                           return info.param == stall::server_to_client ? "ServerToClient"
                                                                        : "BothDirections";
                         });

}  // namespace
}  // namespace actorsync::testing
