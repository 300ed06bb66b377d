#include <actorsync/server/server_options.hpp>

#include <spdlog/spdlog.h>

namespace actorsync::server {

namespace {

std::string check_listener(const listener_options& l, const char* name) {
  if (!l.enabled) return {};
  if (l.address.empty()) return std::string(name) + ".address: must not be empty";
  return {};
}

}  // namespace

std::string validate(const server_options& o) {
  if (o.data_directory.empty()) return "data_directory: must not be empty";
  if (!o.ws.enabled && !o.wss.enabled)
    return "ws.enabled: at least one of ws and wss must be enabled";
  if (auto why = check_listener(o.ws, "ws"); !why.empty()) return why;
  if (auto why = check_listener(o.wss, "wss"); !why.empty()) return why;
  if (auto why = check_listener(o.metrics, "metrics"); !why.empty()) return why;
  if (o.wss.enabled && o.tls_certificate_file.empty()) {
    return "tls.certificate_file: required when wss is enabled";
  }
  if (o.wss.enabled && o.tls_private_key_file.empty()) {
    return "tls.private_key_file: required when wss is enabled";
  }
  if (o.token_secret.size() < tuning::min_token_secret_bytes) {
    return "auth.secret: the token secret must hold at least " +
           std::to_string(tuning::min_token_secret_bytes) +
           " bytes (set auth.secret_file or ACTORSYNC_TOKEN_SECRET)";
  }
  if (o.max_connections == 0) return "limits.max_connections: must be at least 1";
  if (o.max_sessions_per_connection == 0) {
    return "limits.max_sessions_per_connection: must be at least 1";
  }
  if (o.max_frame_bytes < tuning::min_frame_bytes || o.max_frame_bytes > tuning::max_frame_bytes) {
    return "limits.max_frame_bytes: must be between " + std::to_string(tuning::min_frame_bytes) +
           " and " + std::to_string(tuning::max_frame_bytes);
  }
  if (o.max_download_bytes == 0 || o.max_download_bytes > o.max_frame_bytes / 2) {
    return "limits.max_download_bytes: must be between 1 and half of max_frame_bytes";
  }
  if (o.send_queue_bytes < o.max_frame_bytes / 4) {
    return "limits.send_queue_bytes: must be at least a quarter of max_frame_bytes";
  }
  if (o.send_queue_timeout.count() <= 0) return "limits.send_queue_timeout_ms: must be positive";
  if (o.realm_idle_timeout.count() <= 0) return "limits.realm_idle_timeout_ms: must be positive";
  if (o.frame_timeout.count() <= 0) return "limits.frame_timeout_ms: must be positive";
  if (o.upgrade_timeout.count() <= 0) return "limits.upgrade_timeout_ms: must be positive";
  if (o.max_pending_upgrades == 0) return "limits.max_pending_upgrades: must be at least 1";
  if (o.memory_budget_bytes != 0 && o.memory_budget_bytes < tuning::min_memory_budget_bytes) {
    return "limits.memory_budget_mb: must be 0 (sized to the machine) or at least " +
           std::to_string(tuning::min_memory_budget_bytes >> 20);
  }
  if (o.shutdown_timeout.count() <= 0) return "shutdown.timeout_ms: must be positive";
  const auto threads_range = " must be between 1 and " + std::to_string(tuning::max_threads);
  if (o.io_threads == 0 || o.io_threads > tuning::max_threads) return "threads.io:" + threads_range;
  if (o.actor_threads == 0 || o.actor_threads > tuning::max_threads)
    return "threads.actors:" + threads_range;
  if (o.group_commit_window.count() < 0 ||
      o.group_commit_window > tuning::max_group_commit_window) {
    return "storage.group_commit_window_us: must be between 0 and " +
           std::to_string(tuning::max_group_commit_window.count());
  }
  if (!o.postgres_url.empty() && o.node_id.empty()) {
    return "cluster.node_id: required when cluster.postgres_url is set";
  }
  if (o.postgres_url.empty() && !o.node_id.empty()) {
    return "cluster.node_id: set without cluster.postgres_url (a node id names a node of a "
           "PostgreSQL cluster; the single-node server has none)";
  }
  if (!o.nats_urls.empty() && o.postgres_url.empty()) {
    return "cluster.nats_urls: set without cluster.postgres_url (the nodes of a cluster share "
           "their history in PostgreSQL)";
  }
  for (const auto& url : o.nats_urls) {
    if (url.rfind("nats://", 0) != 0 && url.rfind("tls://", 0) != 0) {
      return "cluster.nats_urls: '" + url + "' is not a nats:// URL";
    }
  }
  if (o.lease_time < tuning::min_lease_time) {
    return "cluster.lease_time_ms: must be at least " +
           std::to_string(tuning::min_lease_time.count()) + " (leases are renewed every second)";
  }
  if (spdlog::level::from_str(o.log_level) == spdlog::level::off && o.log_level != "off") {
    return "log.level: '" + o.log_level +
           "' is not one of trace, debug, info, warning, error, critical, off";
  }
  return {};
}

}  // namespace actorsync::server
