// State shared by every workload of one run: the apps (client runtimes), counters, the latency
// histogram, error bookkeeping, the live progress line and Ctrl-C handling.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <actorsync/actors/session_types.hpp>
#include "tools/load/load_options.hpp"
#include "tools/load/load_report.hpp"

namespace actorsync::api {
class app;
class realm;
class sync_session;
}  // namespace actorsync::api

namespace actorsync::load {

/// Counters written by runtime threads and read by the progress line.
struct live_counters {
  std::atomic<std::uint64_t> sessions_opened{0};
  std::atomic<std::uint64_t> sessions_connected{0};
  std::atomic<std::uint64_t> writes_committed{0};
  std::atomic<std::uint64_t> writes_acked{0};
  std::atomic<std::uint64_t> bytes_acked{0};
  std::atomic<std::uint64_t> progress_events{0};
  std::atomic<std::uint64_t> connection_events{0};
  std::atomic<std::uint64_t> errors{0};
  /// Retryable session errors (a lost connection, a refused attempt): the runtime recovers from
  /// them by itself, so they do not fail a run; lost or divergent data and fatal errors do.
  std::atomic<std::uint64_t> transient_errors{0};
};

class load_run {
 public:
  using clock = std::chrono::steady_clock;

  /// `server_urls`: the app's servers (app_config::server_urls), at least one.
  load_run(load_options options, std::vector<std::string> server_urls,
           std::function<std::string(const std::string&)> token_for_user);
  ~load_run();

  const load_options& options() const { return options_; }
  /// Every wait of the run ends by the run's deadline at the latest: waits are given it
  /// explicitly (the realms keep waiting through errors, so nothing else would end them).
  /// (At least a minute, so a short --max-duration still lets the run settle.)
  std::chrono::milliseconds wait_timeout() const {
    return std::max<std::chrono::milliseconds>(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_duration),
        std::chrono::minutes(1));
  }
  /// How long settling may take after the writers stopped at the cap.
  std::chrono::milliseconds settle_time() const { return wait_timeout(); }
  live_counters& counters() { return counters_; }
  load_report& report() { return report_; }

  /// A new client runtime with its own data directory (one per replica group). With several
  /// servers, the k-th app made gets the list rotated by k: its links start at server k mod N.
  api::app& make_app(const std::string& name);
  /// The user a realm's session belongs to: spreads realms over `connections` users.
  std::string user_for(std::uint64_t realm_index) const;
  std::string token_for(const std::string& user) const { return token_for_user_(user); }
  static std::string realm_path(std::uint64_t realm_index);

  /// Subscribes the run's counting actor to a session's progress (both directions, reported
  /// indefinitely) and connection state: every session is observed by a subscriber actor.
  void observe(api::app& owner, api::sync_session& session);

  /// Connection attempts and session errors per server of the run's list (in its order), summed
  /// over the apps.
  std::vector<server_usage> server_usage_totals();

  void record_latency(std::chrono::microseconds latency);
  latency_histogram latency_snapshot();
  void record_error(const std::string& what);
  /// A session's error event: a fatal one counts as an error, a retryable one as transient;
  /// both count for the server it names.
  void record_session_error(const runtime::session_error_event& event);

  /// True once Ctrl-C was pressed or --max-duration passed: writers stop.
  bool should_stop() const;
  /// True once Ctrl-C was pressed, or the settling after the writers (the last acknowledgements,
  /// downloads, convergence) ran past its own bound: --max-duration again after the cap. Reaching
  /// the cap alone is not an interruption: the run settles and is judged like any other.
  bool settling_over() const;
  bool interrupted() const;
  bool reached_max_duration() const;
  clock::time_point started() const { return started_; }
  double elapsed_s() const;

  /// A server process the tool started whose resident memory the run records in
  /// report().server_memory. Before start_progress().
  void watch_server_memory(const std::string& name, pid_t pid);

  /// Prints the live line and takes a timeline sample once a second until stop_progress(),
  /// which takes the last (partial) sample. Reads the watched servers' memory when it starts,
  /// every server_memory_interval_s and when it stops.
  void start_progress(std::uint64_t sessions_expected, std::uint64_t writes_expected);
  void stop_progress();

 private:
  void progress_loop();
  /// Appends a timeline sample for the interval since the previous one.
  void sample_timeline();
  /// Appends a reading of each watched server's resident memory (progress thread, or before it
  /// started and after it ended).
  void sample_server_memory();
  /// Sums the apps' client metrics into the report (at the end of the run).
  void collect_client_metrics();

  load_options options_;
  std::vector<std::string> server_urls_;
  std::function<std::string(const std::string&)> token_for_user_;
  std::filesystem::path data_root_;
  bool remove_data_root_ = false;
  live_counters counters_;
  load_report report_;
  std::mutex latency_mutex_;
  latency_histogram latency_;
  latency_histogram interval_latency_;  ///< since the last timeline sample
  std::mutex errors_mutex_;
  std::map<std::string, std::uint64_t> errors_by_server_;  ///< under errors_mutex_
  clock::time_point started_ = clock::now();
  std::vector<std::unique_ptr<api::app>> apps_;
  struct observer;
  std::vector<std::shared_ptr<observer>> observers_;

  std::atomic<bool> progress_running_{false};
  std::thread progress_thread_;
  std::uint64_t sessions_expected_ = 0;
  std::uint64_t writes_expected_ = 0;
  clock::time_point next_memory_sample_{};
};

/// Installs the SIGINT/SIGTERM handler that load_run::interrupted() reads.
void install_interrupt_handler();

}  // namespace actorsync::load
