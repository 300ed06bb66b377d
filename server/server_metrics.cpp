#include <actorsync/server/server_metrics.hpp>

#include <algorithm>
#include <cstdio>

#include "actorsync/build_info.hpp"
#include "server/log_sink.hpp"
#include "server/memory_budget.hpp"
#include "server/pending_upgrades.hpp"
#include "server/process_stats.hpp"

namespace actorsync::server {

namespace {

/// One unlabelled sample of a standard process_* metric (Prometheus client libraries' names).
void process_line(std::string& out, const char* name, const char* type, const char* help,
                  double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", value);
  out += std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n' +
         name + ' ' + number + '\n';
}

/// The process_* metrics every Prometheus client exports, and actorsync_build_info.
void render_process_metrics(std::string& out) {
  process_line(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               static_cast<double>(process::resident_bytes()));
  process_line(out, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.", process::cpu_seconds());
  process_line(out, "process_open_fds", "gauge", "Number of open file descriptors.",
               static_cast<double>(process::open_descriptors()));
  process_line(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
               static_cast<double>(process::max_descriptors()));
  process_line(out, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.",
               process::start_time_seconds());
  out +=
      "# HELP actorsync_build_info The build of this server (always 1).\n"
      "# TYPE actorsync_build_info gauge\n"
      "actorsync_build_info{version=\"" +
      std::string(build_info::version) + "\",compiler=\"" + std::string(build_info::compiler) +
      "\"} 1\n";
}

std::size_t error_slot(protocol::error_code code) {
  return static_cast<std::size_t>(static_cast<std::uint16_t>(code)) - 100;
}

void line(std::string& out, const char* name, const char* type, const char* help,
          std::int64_t value) {
  append_metric(out, name, type, help, std::to_string(value));
}

}  // namespace

void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   const std::string& value) {
  out += "# HELP actorsync_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE actorsync_";
  out += name;
  out += ' ';
  out += type;
  out += "\nactorsync_";
  out += name;
  out += ' ';
  out += value;
  out += '\n';
}

namespace {

// Index of `reason` in bind_refusals, or the array size when it is not a BIND refusal.
std::size_t refusal_slot(protocol::error_code reason) {
  const auto& reasons = server_metrics::bind_refusals;
  return static_cast<std::size_t>(std::find(reasons.begin(), reasons.end(), reason) -
                                  reasons.begin());
}

std::string format_bound(double bound) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", bound);
  return buffer;
}

}  // namespace

void server_metrics::record_integration(std::chrono::steady_clock::duration latency) {
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t bucket = 0;
  while (bucket < latency_buckets.size() && seconds > latency_buckets[bucket]) ++bucket;
  latency_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_micros_.fetch_add(
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(latency).count()),
      std::memory_order_relaxed);
}

void server_metrics::record_error(protocol::error_code code) {
  const auto slot = error_slot(code);
  if (slot < errors_.size()) errors_[slot].fetch_add(1, std::memory_order_relaxed);
}

void server_metrics::record_bind_refused(protocol::error_code reason) {
  const auto slot = refusal_slot(reason);
  if (slot < binds_refused_.size()) binds_refused_[slot].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t server_metrics::binds_refused(protocol::error_code reason) const {
  const auto slot = refusal_slot(reason);
  return slot < binds_refused_.size() ? binds_refused_[slot].load(std::memory_order_relaxed) : 0;
}

void server_metrics::record_upgrade_refused(std::string_view reason) {
  upgrades_refused.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < upgrade_refusals.size(); ++i)
    if (upgrade_refusals[i] == reason) upgrades_refused_[i].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t server_metrics::upgrades_refused_for(std::string_view reason) const {
  for (std::size_t i = 0; i < upgrade_refusals.size(); ++i)
    if (upgrade_refusals[i] == reason) return upgrades_refused_[i].load(std::memory_order_relaxed);
  return 0;
}

void server_metrics::render_budget(std::string& out) const {
  std::shared_ptr<const memory_budget> budget;
  std::shared_ptr<const pending_upgrades> pending;
  {
    std::lock_guard lock(budget_mutex_);
    budget = budget_;
    pending = pending_;
  }
  auto as_int = [](auto value) { return static_cast<std::int64_t>(value); };
  if (pending) {
    line(out, "pending_upgrades", "gauge",
         "Sockets accepted and not yet upgraded (TLS handshake, HTTP upgrade).",
         as_int(pending->size()));
    line(out, "pending_upgrades_dropped_total", "counter",
         "Sockets not yet upgraded dropped, oldest first, to admit newer ones "
         "(limits.max_pending_upgrades).",
         as_int(pending->dropped()));
  }
  if (!budget) return;
  line(out, "memory_budget_bytes", "gauge",
       "The memory budget for what clients make the server hold (limits.memory_budget_mb).",
       as_int(budget->limit()));
  line(out, "memory_budget_used_bytes", "gauge",
       "Bytes held for clients: queued and partly received frames, session bookkeeping.",
       as_int(budget->used()));
  line(out, "connections_shed_total", "counter",
       "Connections shed (ERROR server_overloaded) to keep within the memory budget.",
       as_int(budget->shed_count()));
}

std::string server_metrics::render_prometheus() const {
  std::string out;
  auto g = [](const auto& a) {
    return static_cast<std::int64_t>(a.load(std::memory_order_relaxed));
  };
  line(out, "connections", "gauge", "Open WebSocket connections.", g(connections));
  line(out, "connections_accepted_total", "counter", "WebSocket upgrades accepted.",
       g(connections_total));
  out +=
      "# HELP actorsync_upgrades_refused_total WebSocket upgrades refused, by the "
      "X-Actorsync-Reason they were answered with.\n"
      "# TYPE actorsync_upgrades_refused_total counter\n";
  for (const auto reason : upgrade_refusals) {
    out += "actorsync_upgrades_refused_total{reason=\"" + std::string(reason) + "\"} " +
           std::to_string(upgrades_refused_for(reason)) + "\n";
  }
  line(out, "sessions", "gauge", "Bound sync sessions.", g(sessions));
  line(out, "binds_total", "counter", "BINDs accepted and handed to their realm.", g(binds));
  line(out, "active_realms", "gauge", "Realm actors alive.", g(active_realms));
  line(out, "changesets_integrated_total", "counter", "Changesets durably integrated.",
       g(changesets_integrated));
  line(out, "bytes_integrated_total", "counter", "Changeset bytes durably integrated.",
       g(bytes_integrated));
  line(out, "changesets_sent_total", "counter", "Changesets sent in DOWNLOAD messages.",
       g(changesets_sent));
  line(out, "bytes_sent_total", "counter", "WebSocket payload bytes sent.", g(bytes_sent));
  line(out, "bytes_received_total", "counter", "WebSocket payload bytes received.",
       g(bytes_received));
  line(out, "disk_full", "gauge",
       "1 from a write refused because the data directory's disk is below its free-space "
       "reserve until a write succeeds again.",
       g(disk_full));
  line(out, "writes_refused_disk_full_total", "counter",
       "Uploads and file ident grants refused (retryable ERROR storage_full) for a full disk.",
       g(writes_refused_disk_full));
  line(out, "realm_storage_corruptions_total", "counter",
       "Realms whose stored data was found damaged (their sessions get the fatal ERROR "
       "storage_corruption; the log names the realm).",
       g(realm_storage_corruptions));
  line(out, "frame_timeouts_total", "counter",
       "Connections ended (ERROR frame_timeout) because a frame they started was not finished "
       "within limits.frame_timeout_ms.",
       g(frame_timeouts));
  render_budget(out);
  line(out, "log_lines_dropped_total", "counter",
       "Log lines dropped because stderr could not take them at once (process-wide).",
       static_cast<std::int64_t>(log_lines_dropped()));

  out +=
      "# HELP actorsync_integration_latency_seconds Time from UPLOAD arrival at the realm to "
      "durable integration.\n# TYPE actorsync_integration_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= latency_buckets.size(); ++i) {
    cumulative += latency_counts_[i].load(std::memory_order_relaxed);
    const auto le = i < latency_buckets.size() ? format_bound(latency_buckets[i]) : "+Inf";
    out += "actorsync_integration_latency_seconds_bucket{le=\"" + le + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.6f",
                static_cast<double>(latency_sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += std::string("actorsync_integration_latency_seconds_sum ") + sum + "\n";
  out += "actorsync_integration_latency_seconds_count " + std::to_string(cumulative) + "\n";

  out +=
      "# HELP actorsync_errors_total ERROR messages sent, by protocol error code.\n"
      "# TYPE actorsync_errors_total counter\n";
  for (std::size_t slot = 0; slot < errors_.size(); ++slot) {
    const auto raw = static_cast<std::uint16_t>(slot + 100);
    if (!protocol::is_known_error_code(raw)) continue;
    out += "actorsync_errors_total{code=\"" +
           std::string(protocol::to_string(static_cast<protocol::error_code>(raw))) + "\"} " +
           std::to_string(errors_[slot].load(std::memory_order_relaxed)) + "\n";
  }

  out +=
      "# HELP actorsync_binds_refused_total BINDs refused before reaching a realm, by reason.\n"
      "# TYPE actorsync_binds_refused_total counter\n";
  for (const auto reason : bind_refusals) {
    out += "actorsync_binds_refused_total{reason=\"" + std::string(protocol::to_string(reason)) +
           "\"} " + std::to_string(binds_refused(reason)) + "\n";
  }
  if (extra_renderer_) extra_renderer_(out);
  render_process_metrics(out);
  return out;
}

}  // namespace actorsync::server
