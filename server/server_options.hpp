// Everything a sync_server can be told at start. Plain data: config_file.cpp fills it from TOML
// and flags, tests and embedders fill it in code. Defaults are the documented ones, taken
// from server_tuning.hpp (which says why each has its value).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <actorsync/server/server_tuning.hpp>

namespace actorsync::server {

struct listener_options {
  bool enabled = false;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: an ephemeral port, reported by sync_server::start
};

struct server_options {
  std::filesystem::path data_directory = "actorsync-server-data";

  listener_options ws{true, "127.0.0.1", 7800};
  listener_options wss{false, "127.0.0.1", 7801};
  listener_options metrics{true, "127.0.0.1", 7802};
  std::string tls_certificate_file;  ///< PEM chain; required when wss is enabled
  std::string tls_private_key_file;  ///< PEM key; required when wss is enabled

  /// HMAC secret tokens are signed with (never logged). Required.
  std::string token_secret;
  /// PEM public keys of identity providers: tokens they sign (RS256/384/512, ES256/384/512)
  /// are accepted besides the secret's HS256 ones (docs/server.md, Securing).
  std::vector<std::string> token_public_key_files;

  // ---- limits ----
  std::size_t max_connections = tuning::max_connections;
  std::size_t max_sessions_per_connection = tuning::max_sessions_per_connection;
  /// Sockets accepted and not yet upgraded beyond this: the oldest is dropped. (Both this and
  /// max_connections are lowered further when the descriptor limit cannot hold them.)
  std::size_t max_pending_upgrades = tuning::max_pending_upgrades;
  /// TLS handshake plus HTTP upgrade must finish within this.
  std::chrono::milliseconds upgrade_timeout = tuning::upgrade_timeout;
  std::size_t max_frame_bytes = tuning::max_frame_bytes;
  /// Bytes of history per DOWNLOAD message when catching a session up.
  std::size_t max_download_bytes = tuning::max_download_bytes;
  /// Encoded bytes queued for one connection above which the server stops reading from it.
  std::size_t send_queue_bytes = tuning::send_queue_bytes;
  /// How long a connection may stay above send_queue_bytes before send_queue_overflow.
  std::chrono::milliseconds send_queue_timeout = tuning::send_queue_timeout;
  /// Bytes all connections together may make the server hold (queued and partly received frames,
  /// session bookkeeping); beyond it the largest is shed with server_overloaded. 0: sized to the
  /// machine.
  std::size_t memory_budget_bytes = tuning::memory_budget_bytes;
  /// A frame started must be complete within this (else frame_timeout).
  std::chrono::milliseconds frame_timeout = tuning::frame_timeout;
  /// A realm actor with no bound session stops after this long.
  std::chrono::milliseconds realm_idle_timeout = tuning::realm_idle_timeout;
  /// How long stop() waits for integrations and goodbyes before closing regardless.
  std::chrono::milliseconds shutdown_timeout = tuning::shutdown_timeout;

  // ---- threads and storage ----
  std::size_t io_threads = tuning::io_threads;        ///< Asio threads running sockets
  std::size_t actor_threads = tuning::actor_threads;  ///< CAF scheduler workers
  bool durable = true;  ///< fsync before acknowledging (never turn off in production)
  std::chrono::microseconds group_commit_window = tuning::group_commit_window;
  /// Free space (MiB) kept on the data directory's filesystem: below it uploads get the
  /// retryable ERROR storage_full and the server does not start (exit status 3).
  std::uint64_t min_free_disk_mib = tuning::min_free_disk_mib;

  // ---- cluster (docs/cluster.md) ----
  /// Empty: the history lives in the embedded RocksDB under data_directory (the default). A
  /// postgresql:// URL (or libpq connection string): it lives in PostgreSQL, fenced per realm.
  std::string postgres_url;
  std::string node_id;  ///< this node's name in leases and realm heads; required with postgres_url
  /// A node that has not renewed its lease for this long loses its realms to other nodes.
  std::chrono::milliseconds lease_time = tuning::lease_time;
  /// NATS servers of the cluster's bus (nats://host:port). Empty: this node serves only the
  /// realms it owns (one server on PostgreSQL). Set: any node serves any client. Needs
  /// postgres_url.
  std::vector<std::string> nats_urls;

  std::string log_level = "info";  ///< spdlog level name
};

/// Ports actually bound (the configured ones, or the ephemeral ones chosen); 0 = disabled.
struct bound_ports {
  std::uint16_t ws = 0;
  std::uint16_t wss = 0;
  std::uint16_t metrics = 0;
};

/// Returns an empty string when the options can be used, else "key: why".
std::string validate(const server_options& options);

}  // namespace actorsync::server
