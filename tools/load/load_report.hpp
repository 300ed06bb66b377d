// The load tester's results: a plain struct, rendered as a terminal table, JSON
// (fields documented in docs/load-testing.md) and a self-contained HTML page.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "tools/load/latency_histogram.hpp"

namespace actorsync::load {

/// One sample of the throughput timeline, taken about once a second.
struct timeline_point {
  double elapsed_s = 0;
  std::uint64_t writes_acked = 0;  ///< cumulative
  std::uint64_t sessions_bound = 0;
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
  double cpu_idle_percent = 0;  ///< process CPU while holding idle sessions
  /// idle: the client's memory was measured after the runtime released the binding burst's
  /// free memory (false: no release was seen within the deadline, or too few sessions for one).
  bool measured_after_memory_release = false;
  std::uint64_t memory_releases = 0;  ///< idle: the client runtime's count when measured

  std::uint64_t progress_events = 0;
  std::uint64_t connection_events = 0;
  std::uint64_t errors = 0;
  std::vector<std::string> error_samples;  ///< first few, for humans
  bool converged = false;
  bool convergence_checked = false;
  bool interrupted = false;

  std::vector<timeline_point> timeline;

  /// True when the run counts as a success (no errors, every write acknowledged, converged
  /// where checked, not interrupted).
  bool passed() const;
};

std::string to_json(const load_report& report);
std::string to_html(const load_report& report);
void print_table(std::ostream& out, const load_report& report);

}  // namespace actorsync::load
