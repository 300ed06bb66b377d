// The client side of the fault tests: one api::app writing small transactions round-robin into
// many realms from a background thread, issuing upload waits as it goes, then checking at the
// end that every wait finished, every replica is acknowledged, and a fresh replica of each
// realm converges to the same content.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actorsync/actors/session_types.hpp>
#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include "tests/support/history_check.hpp"

namespace actorsync::testing {

/// Commits object "i<n>" with field n = n to `realm`; false when the commit failed.
bool commit_numbered(api::realm& realm, int n);

/// Credentials for `user` with a token for every realm, signed with `secret` (the secret the
/// server under test was started with), valid for an hour.
api::user_credentials credentials_for(const std::string& user, const std::string& secret);

struct workload_options {
  std::string server_url;
  std::filesystem::path data_directory;
  std::string token_secret;
  std::size_t realms = 100;
  std::string realm_prefix = "/fault";
  /// Every this many commits, one upload wait is issued (and must finish by the end).
  std::size_t wait_every = 25;
  std::chrono::milliseconds request_timeout{120 * 1000};
  /// Keepalive: short, so a link whose peer vanished without a reset is dropped within seconds.
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds pong_timeout{3000};
  /// More servers (nodes of one cluster): the link moves to the next when one is lost.
  std::vector<std::string> more_server_urls{};
};

/// Counts of how the waits issued during the run ended.
struct wait_tally {
  std::size_t ok = 0, error = 0, timed_out = 0, paused = 0, unfinished = 0;
};

class sync_workload {
 public:
  explicit sync_workload(workload_options options);
  ~sync_workload();  ///< stops writing

  void start_writing();
  void stop_writing();

  std::uint64_t committed_total() const { return committed_total_.load(); }
  /// Sum over realms of the server's acknowledged client version (read from local metadata).
  std::uint64_t acknowledged_total() const;

  /// Waits (bounded by `deadline`) for every wait issued during the run.
  wait_tally collect_waits(std::chrono::milliseconds deadline);
  /// A final upload wait on every realm; returns the realms whose wait did not end ok.
  std::vector<std::string> upload_everything();
  /// A final download wait on every realm (what other writers uploaded); the realms whose wait
  /// did not end ok.
  std::vector<std::string> download_everything();
  /// The app's counters (sessions by state, sockets, connection attempts), for diagnostics.
  api::runtime_statistics statistics() { return app_->statistics(); }
  /// Fatal session errors the app's error handler reported.
  std::vector<std::string> fatal_errors() const;
  /// One record per realm (ident and committed versions) for check_history_exactly_once.
  std::vector<replica_record> records() const;
  /// Opens every realm in a fresh app, downloads, and compares content digests; returns the
  /// realms that differ or failed to download. The fresh app syncs through `server_url` when
  /// given (another node of a cluster), else through the workload's own.
  std::vector<std::string> check_converged(const std::filesystem::path& fresh_directory,
                                           const std::string& server_url = {}) const;

 private:
  api::app_config config_for(const std::filesystem::path& directory,
                             const std::string& server_url = {}) const;
  void write_loop();
  std::vector<std::string> wait_everywhere(
      const std::function<std::future<runtime::wait_outcome>(api::realm&)>& wait);

  workload_options options_;
  api::user_credentials user_;
  std::unique_ptr<api::app> app_;
  std::vector<std::shared_ptr<api::realm>> realms_;
  std::vector<std::future<runtime::wait_outcome>> waits_;  // writer thread only until joined
  mutable std::mutex errors_mutex_;
  std::vector<std::string> fatal_errors_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> committed_total_{0};
  std::thread writer_;
};

}  // namespace actorsync::testing
