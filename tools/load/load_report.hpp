// The load tester's results: a plain struct, rendered as a terminal table, JSON
// (fields documented in docs/load-testing.md) and a self-contained HTML page.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "tools/load/latency_histogram.hpp"

namespace actorsync::load {

/// One sample of the timeline, taken about once a second (and once more when the run ends):
/// the interval is (previous sample, this sample], the first one starts at 0.
struct timeline_point {
  double elapsed_s = 0;
  std::uint64_t writes_acked = 0;      ///< cumulative
  std::uint64_t sessions_bound = 0;    ///< sessions connected at the sample (active sessions)
  std::uint64_t errors = 0;            ///< cumulative
  std::uint64_t writes_committed = 0;  ///< cumulative
  latency_histogram latency;           ///< latencies recorded in this interval only
};

/// Who ran the report, where and when (the page's summary).
struct run_context {
  std::string command_line;
  std::string version;
  std::string started_at_utc;  ///< ISO 8601, e.g. 2026-12-07T17:30:00Z
  std::string hostname;
  std::uint64_t cpu_cores = 0;
  std::uint64_t memory_bytes = 0;
};

/// One server of the run's list (--server-url, the embedded server or the nodes of --cluster)
/// and the connection attempts the run's apps made to it and the session errors seen there.
struct server_usage {
  std::string url;
  std::uint64_t connects = 0;
  std::uint64_t errors = 0;  ///< session error events naming this server (a lost link: one each)
  /// Servers the tool started: "embedded" or the cluster node's id, its pid and its metrics
  /// endpoint. Empty for external servers.
  std::string node;
  std::int64_t pid = 0;
  std::string metrics_url;
};

/// CPU time one process (or a group: PostgreSQL's postmaster with its backends, every
/// nats-server) used during the workload, measured from /proc.
struct process_figures {
  std::string name;  ///< client, embedded, node-0 ..., postgresql, nats
  std::vector<std::int64_t> pids;
  double cpu_s = 0;
};

/// How often the run reads the resident memory of the servers it started (besides once when
/// the workload starts and once when it ends).
inline constexpr double server_memory_interval_s = 5;

/// One reading of a process's resident memory (/proc/PID/statm).
struct memory_sample {
  double elapsed_s = 0;  ///< since the start of the run
  std::uint64_t rss_bytes = 0;
};

/// The resident memory over time of one server process the tool started (the embedded server,
/// which is always a child process, or a --cluster node): read when the workload starts, every
/// server_memory_interval_s while it runs and settles, and when it ends. External servers
/// (--server-url) are not sampled; a reading that fails (the process gone, e.g. the reset
/// workload's restarted server under a new pid) is left out.
struct memory_series {
  std::string name;  ///< embedded, node-0, ...
  std::int64_t pid = 0;
  std::vector<memory_sample> samples{};
};

/// What the reports say about a series: start, peak (and when), end, growth (end - start).
struct memory_summary {
  std::uint64_t start_bytes = 0;
  std::uint64_t peak_bytes = 0;
  double peak_at_s = 0;
  std::uint64_t end_bytes = 0;
  std::int64_t growth_bytes = 0;
};
/// All zero for a series without samples.
memory_summary summarize(const memory_series& series);
/// The samples the text table shows: all of them when there are at most `max_rows`, otherwise
/// the first, the first at or after each whole minute, and the last.
std::vector<memory_sample> memory_table_rows(const memory_series& series,
                                             std::size_t max_rows = 15);

/// One bar of the page's latency histogram: [lower_us, upper_us) in microseconds.
struct histogram_bin {
  double lower_us = 0;
  double upper_us = 0;
  std::uint64_t count = 0;
};

struct load_report {
  std::string workload;
  std::uint64_t realms = 0;
  std::uint64_t sessions = 0;
  std::uint64_t writes_per_realm = 0;
  bool multiplexing = true;
  std::uint64_t connections_configured = 0;
  bool tls = false;
  std::uint64_t seed = 0;
  bool server_fsync = true;  ///< false: embedded server run with --no-fsync

  double duration_s = 0;
  double bind_all_s = 0;  ///< time until every session was bound and caught up
  std::uint64_t writes_committed = 0;
  std::uint64_t writes_acked = 0;
  double writes_per_s = 0;
  double mb_per_s = 0;
  latency_histogram latency;  ///< commit -> acknowledged (upload) or -> visible (fanout)

  std::int64_t client_rss_bytes_per_session = 0;
  std::int64_t server_rss_bytes_per_session = 0;
  std::uint64_t client_rss_base_bytes = 0;
  std::uint64_t sockets = 0;
  std::vector<server_usage> servers;  ///< in list order
  std::uint64_t cluster_nodes = 0;    ///< --cluster N; 0: no embedded cluster
  /// CPU per process from the workload's start (binding included) to its end: the client, and
  /// the processes the tool started (the embedded server, or the cluster's nodes, PostgreSQL and
  /// NATS).
  std::vector<process_figures> processes;
  double cpu_idle_percent = 0;  ///< process CPU while holding idle sessions
  /// idle: the client's memory was measured after the runtime released the binding burst's
  /// free memory (false: no release was seen within the deadline, or too few sessions for one).
  bool measured_after_memory_release = false;
  std::uint64_t memory_releases = 0;  ///< idle: the client runtime's count when measured

  std::uint64_t progress_events = 0;
  std::uint64_t connection_events = 0;
  std::uint64_t errors = 0;  ///< fatal session errors, failed waits and commits, lost data
  std::vector<std::string> error_samples;  ///< first few, for humans
  /// Retryable session errors (the runtime reconnected or rebound by itself): shown, not failing.
  std::uint64_t transient_errors = 0;
  std::vector<std::string> transient_error_samples;  ///< first few
  bool verified = false;                             ///< --verify ran (upload)
  std::uint64_t verify_missing = 0;     ///< acknowledged writes a fresh replica did not find
  std::uint64_t verify_unexpected = 0;  ///< objects a fresh replica found that were never written
  std::uint64_t client_resets = 0;      ///< reset workload: realms whose client reset finished
  double reset_s = 0;                   ///< reset workload: from the server's restore to the last
  bool converged = false;
  bool convergence_checked = false;
  bool interrupted = false;
  /// The run reached --max-duration: its writers stopped there, then it settled and was judged
  /// as usual (not an interruption).
  bool stopped_at_max_duration = false;

  std::vector<timeline_point> timeline;
  /// The resident memory of each server process the tool started, over time.
  std::vector<memory_series> server_memory;
  /// The client runtimes' metrics at the end of the run (app::metrics_text(), the names of
  /// docs/sessions.md "Client metrics"), summed over the run's apps (the oldest-write age: the
  /// largest).
  std::map<std::string, double> client_metrics;
  run_context context;

  /// True when the run counts as a success (no errors, every write acknowledged, converged
  /// where checked, not interrupted).
  bool passed() const;
};

std::string to_json(const load_report& report);
/// The self-contained page; `chart_js` is the text of Chart.js 3 (inlined into the page).
std::string to_html(const load_report& report, const std::string& chart_js);
/// Where Debian's libjs-chart.js installs Chart.js.
inline constexpr const char* default_chart_js_path = "/usr/share/javascript/chart.js/chart.min.js";
/// Reads Chart.js from `path`; throws std::runtime_error naming the path and the package.
std::string read_chart_js(const std::string& path);
/// The histogram as contiguous bins of equal width on a log scale (`per_octave` bins per
/// doubling), from the first to the last non-empty bin, empty bins included: drawn on a log
/// axis, every bar's area is its share of the samples.
std::vector<histogram_bin> log_bins(const latency_histogram& h, int per_octave = 4);
/// A number with `significant` significant digits, never fewer than its integer digits, no
/// trailing zeros: 1234.6 -> "1235", 2.50 -> "2.5", 0.012345 -> "0.0123".
std::string format_number(double value, int significant = 3);
void print_table(std::ostream& out, const load_report& report);

}  // namespace actorsync::load
