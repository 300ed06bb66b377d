// Counters and gauges of one sync_server, rendered as Prometheus text. Lock-free atomics:
// written by connection and realm actors, read by the metrics HTTP endpoint. This is the one
// piece of memory those actors share, and it only ever holds numbers.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <actorsync/protocol/errors.hpp>

namespace actorsync::server {

class memory_budget;
class pending_upgrades;

class server_metrics {
 public:
  /// Upper bounds (seconds) of the integration latency histogram buckets.
  static constexpr std::array<double, 12> latency_buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                          0.05,   0.1,   0.2,   0.5,   1.0,  5.0};

  std::atomic<std::int64_t> connections{0};         ///< open WebSocket connections (gauge)
  std::atomic<std::uint64_t> connections_total{0};  ///< accepted upgrades
  std::atomic<std::uint64_t> upgrades_refused{0};   ///< refused HTTP upgrades (auth, subprotocol)
  std::atomic<std::int64_t> sessions{0};            ///< bound sessions (gauge)
  std::atomic<std::int64_t> active_realms{0};       ///< realm actors alive (gauge)
  std::atomic<std::uint64_t> changesets_integrated{0};
  std::atomic<std::uint64_t> bytes_integrated{0};
  std::atomic<std::uint64_t> changesets_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};  ///< WebSocket payload bytes written
  std::atomic<std::uint64_t> bytes_received{0};
  /// 1 from a write refused for a full disk until a write succeeds again (gauge).
  std::atomic<std::int64_t> disk_full{0};
  /// Uploads and ident grants refused because the data directory's disk was full.
  std::atomic<std::uint64_t> writes_refused_disk_full{0};
  /// Times a realm's stored data was found damaged (once per realm actor that found it).
  std::atomic<std::uint64_t> realm_storage_corruptions{0};
  /// Connections ended because a frame they had started was not finished in time.
  std::atomic<std::uint64_t> frame_timeouts{0};

  /// Why a BIND can be refused before a realm sees it: the `reason` label values of
  /// actorsync_binds_refused_total, each rendered even at zero.
  static constexpr std::array<protocol::error_code, 6> bind_refusals{
      protocol::error_code::illegal_realm_path, protocol::error_code::reuse_of_session_ident,
      protocol::error_code::too_many_sessions,  protocol::error_code::token_expired,
      protocol::error_code::bad_authentication, protocol::error_code::permission_denied};

  std::atomic<std::uint64_t> binds{0};               ///< BINDs accepted (handed to their realm)
  std::atomic<std::uint64_t> realm_acquisitions{0};  ///< cluster: realms this node took
  std::atomic<std::uint64_t> realm_handovers{0};  ///< cluster: realms given to their preferred node

  /// Why an HTTP upgrade can be refused: the X-Actorsync-Reason header values (docs/protocol.md
  /// §1) and the `reason` label values of actorsync_upgrades_refused_total.
  static constexpr std::array<std::string_view, 6> upgrade_refusals{
      "not_websocket_upgrade", "wrong_protocol_version", "bad_authentication",
      "token_expired",         "headers_too_large",      "too_many_connections"};
  /// A refused upgrade; `reason` is one of upgrade_refusals (counted in the total either way).
  void record_upgrade_refused(std::string_view reason);
  std::uint64_t upgrades_refused_for(std::string_view reason) const;

  void record_integration(std::chrono::steady_clock::duration latency);
  void record_error(protocol::error_code code);
  /// A refused BIND; `reason` is one of bind_refusals (others are not counted).
  void record_bind_refused(protocol::error_code reason);
  std::uint64_t binds_refused(protocol::error_code reason) const;

  /// The memory budget and the pending upgrades whose figures are rendered (set at each start).
  void set_limit_sources(std::shared_ptr<const memory_budget> budget,
                         std::shared_ptr<const pending_upgrades> pending) {
    std::lock_guard lock(budget_mutex_);
    budget_ = std::move(budget);
    pending_ = std::move(pending);
  }

  /// The whole registry in Prometheus text exposition format 0.0.4.
  std::string render_prometheus() const;
  /// More metrics appended by a part of the server that keeps its own figures (the cluster
  /// node's). Set once before the metrics endpoint starts.
  void set_extra_renderer(std::function<void(std::string&)> renderer) {
    extra_renderer_ = std::move(renderer);
  }

 private:
  static constexpr std::size_t error_slots = 256;
  void render_budget(std::string& out) const;
  std::function<void(std::string&)> extra_renderer_;
  mutable std::mutex budget_mutex_;
  std::shared_ptr<const memory_budget> budget_;
  std::shared_ptr<const pending_upgrades> pending_;
  std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> latency_counts_{};
  std::atomic<std::uint64_t> latency_sum_micros_{0};
  std::array<std::atomic<std::uint64_t>, error_slots> errors_{};  ///< by code - 100
  std::array<std::atomic<std::uint64_t>, bind_refusals.size()> binds_refused_{};
  std::array<std::atomic<std::uint64_t>, upgrade_refusals.size()> upgrades_refused_{};
};

/// Appends one metric (HELP, TYPE and its sample) named actorsync_<name> in Prometheus text.
void append_metric(std::string& out, const char* name, const char* type, const char* help,
                   const std::string& value);

}  // namespace actorsync::server
