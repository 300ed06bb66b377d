// Every default and limit of the sync server, in one place, each with why it has its value.
// server_options takes its defaults from here, the actors and listeners their fixed limits;
// code never repeats these numbers as literals. Pure constants: no CAF, no I/O.
// (The client runtime's counterpart is actors/runtime_tuning.hpp.)
#pragma once

#include <chrono>
#include <cstddef>

#include <actorsync/protocol/limits.hpp>

namespace actorsync::server::tuning {

using namespace std::chrono_literals;

// ---- connections and sessions (server_options, limits.*) ----------------------------------------

/// Upgrades refused with 503 beyond this: about what one node serves with its file descriptor
/// limit raised, and far below what would exhaust memory (a few KB per idle connection).
inline constexpr std::size_t max_connections = 10000;
/// High because a multiplexing client routes all of a user's realms through one connection.
inline constexpr std::size_t max_sessions_per_connection = 65536;
/// The protocol's own ceiling (protocol/limits.hpp); a server may only lower it.
inline constexpr std::size_t max_frame_bytes = protocol::limits::max_frame_bytes;
/// The lowest max_frame_bytes accepted from the configuration: a BIND carrying a token must fit.
inline constexpr std::size_t min_frame_bytes = 1024;
/// Bytes of history per DOWNLOAD when catching a session up: large enough to move a backlog in
/// few frames, small enough that one session's catch-up does not hold a shared link for long.
inline constexpr std::size_t max_download_bytes = 1024 * 1024;

// ---- backpressure (connection_actor) ------------------------------------------------------------

/// Encoded bytes queued for one connection above which the server stops reading from it: a few
/// full DOWNLOADs, so a reader that keeps up never stalls, one that does not stops its writer.
inline constexpr std::size_t send_queue_bytes = 8 * 1024 * 1024;
/// How long a connection may stay above send_queue_bytes before send_queue_overflow: a client
/// on a slow network catches up in far less; one that stopped reading is dropped.
inline constexpr std::chrono::milliseconds send_queue_timeout = 30s;
/// Queued bytes beyond this multiple of send_queue_bytes end the connection at once, without
/// waiting for the timeout: bounds the memory a client that never reads can pin.
inline constexpr std::size_t send_queue_overflow_factor = 4;
/// Frames handed to the socket before their writes are reported: the WebSocket writes them back to
/// back instead of waiting for a round trip through the actor per frame.
inline constexpr std::size_t write_window = 16;
/// Frames the WebSocket may read ahead of the actor; bounds what arrives after reading stops.
inline constexpr std::size_t read_window = 4;
/// How long a closing connection may take to flush its goodbye before the socket is dropped (a
/// peer that never reads cannot hold a close open).
inline constexpr std::chrono::milliseconds close_grace = 5s;

/// Sockets accepted and not yet upgraded beyond this: the oldest is dropped (pending_upgrades.hpp).
/// A TLS handshake and upgrade take milliseconds, so a thousand in progress is a burst of
/// reconnects; idle connections that never upgrade cannot hold more.
inline constexpr std::size_t max_pending_upgrades = 1024;
/// File descriptors kept for everything but client sockets: RocksDB's table files (its
/// max_open_files, 256, storage/rocks_util.hpp), its WAL and logs, metrics scrapes, listeners.
/// Connections and pending upgrades together never take these, so the server can always open
/// its files and answer /metrics.
inline constexpr std::size_t descriptor_reserve = 256 + 64;
/// At most this share of the sockets the descriptor limit allows may be pending upgrades.
inline constexpr std::size_t pending_share_divisor = 4;
/// Below this many sockets for clients the descriptor limit is a mistake: the server refuses to
/// start and says how to raise it.
inline constexpr std::size_t min_client_sockets = 16;

// ---- memory budget (memory_budget.hpp) ---------------------------------------------------------

/// 0: the budget is sized to the machine (default_memory_budget_bytes: a quarter of its memory or
/// of its cgroup's limit). It bounds what clients make the server hold (queued and partly
/// received frames, session bookkeeping), not RocksDB's caches.
inline constexpr std::size_t memory_budget_bytes = 0;
/// The lowest budget accepted from the configuration: one full frame and its queue must fit.
inline constexpr std::size_t min_memory_budget_bytes = 16 * 1024 * 1024;
/// What one bound session costs the server beyond its frames: the connection's and the realm's
/// bookkeeping, measured as 66,000 BINDs on one connection adding 209 MB (issue 17).
inline constexpr std::size_t session_bookkeeping_bytes = 3 * 1024;
/// A frame whose first bytes arrived must be complete within this: a 16 MiB frame needs it at
/// 0.6 MB/s, while a peer that starts a large frame and stops cannot pin its buffer for the
/// WebSocket's idle timeout.
inline constexpr std::chrono::milliseconds frame_timeout = 30s;

// ---- realms (realm_actor, ident_allocator) ------------------------------------------------------

/// A realm actor with no bound session stops after this long: a client that reconnects within
/// a minute finds its realm warm, while realms nobody uses do not hold memory.
inline constexpr std::chrono::milliseconds realm_idle_timeout = 60s;
/// How long a realm waits for a new client file ident (a durable write of the history store).
/// Only a wedged store takes this long; the session then gets a retryable ERROR.
inline constexpr std::chrono::milliseconds ident_allocation_timeout = 60s;

// ---- WebSocket and HTTP (sync_listener.cpp, metrics_endpoint.cpp, tcp_acceptor.hpp) -------------

/// TLS handshake plus HTTP upgrade: a peer that has not finished within this is dropped, so
/// half-open sockets cannot pile up.
inline constexpr std::chrono::milliseconds upgrade_timeout = 30s;
/// Upper bound on limits.upgrade_timeout_ms accepted from the configuration.
inline constexpr std::chrono::milliseconds max_upgrade_timeout = 1h;
/// Upgrade request headers beyond this are refused with 431 (a token is well under 1 KB).
inline constexpr std::size_t upgrade_header_limit = 16 * 1024;
/// Bytes asked of the socket per read: a frame above max_frame_bytes is noticed within one
/// chunk of the limit and refused with a typed ERROR instead of Beast's bare close.
inline constexpr std::size_t read_chunk_bytes = 64 * 1024;
/// Beast's own idle timeout with keep-alive pings: a peer silent this long (not even answering
/// a WebSocket ping) is dropped. Longer than the client's pong_timeout, so clients notice first.
inline constexpr std::chrono::milliseconds websocket_idle_timeout = 5min;
/// A metrics scrape must arrive and be answered within this.
inline constexpr std::chrono::milliseconds metrics_request_timeout = 10s;
/// A metrics request is a bare GET: its headers are small.
inline constexpr std::size_t metrics_header_limit = 8 * 1024;
/// After a failed accept (out of file descriptors) the listener waits this long before
/// accepting again, instead of spinning.
inline constexpr std::chrono::milliseconds accept_retry_delay = 100ms;

// ---- shutdown (sync_server) ---------------------------------------------------------------------

/// How long each shutdown step (stop reading, finish integrations, goodbye) waits before the
/// server closes regardless: in-flight integrations take milliseconds; a stuck peer must not
/// hold a restart.
inline constexpr std::chrono::milliseconds shutdown_timeout = 10s;
/// The server's wait for a shutdown step exceeds the directory's own timeout by this, so the
/// directory's (complete) answer arrives before the server gives up on it.
inline constexpr std::chrono::milliseconds shutdown_step_margin = 1s;

// ---- threads and storage (server_options, threads.* and storage.*) ------------------------------

/// One Asio thread serves thousands of sockets; the CPU goes to actors and the store.
inline constexpr std::size_t io_threads = 1;
/// CAF scheduler workers: set explicitly, as CAF 0.17 would start max(cores, 4).
inline constexpr std::size_t actor_threads = 2;
/// Upper bound on either thread count accepted from the configuration.
inline constexpr std::size_t max_threads = 64;
/// The history store waits this long for more writes to share one fsync: concurrent uploads
/// and ident allocations cost one flush, at a latency cost far below a disk's flush time.
inline constexpr std::chrono::microseconds group_commit_window = 200us;
/// Upper bound on group_commit_window accepted from the configuration: beyond it the window
/// would cost more latency than any flush it saves.
inline constexpr std::chrono::microseconds max_group_commit_window = 1s;
/// Below this much free space on the data directory's filesystem the server refuses uploads
/// and new file idents (retryable ERROR storage_full) and refuses to start: RocksDB must never
/// meet a full disk (it aborts; storage/disk_space.hpp), and this holds its own flushes and
/// compactions.
inline constexpr std::uint64_t min_free_disk_mib = 256;
/// Upper bound on storage.min_free_disk_mb accepted from the configuration (1 TiB).
inline constexpr std::uint64_t max_min_free_disk_mib = 1 << 20;

// ---- cluster (docs/cluster.md) ------------------------------------------------------------------

/// A node that has not renewed its lease (renewed every second) for this long loses its realms
/// to other nodes: long enough to ride out a database failover, short enough that a dead
/// node's realms move within seconds.
inline constexpr std::chrono::milliseconds lease_time = 10s;
/// Leases are renewed every second: a shorter lease would expire between renewals.
inline constexpr std::chrono::milliseconds min_lease_time = 2s;
/// A follower with sessions asks PostgreSQL for its realm's head this often: change notices
/// (NATS core) may be lost, and this bounds how late a missed one makes a download.
inline constexpr std::chrono::milliseconds follower_poll_interval = 1s;
/// One attempt of a request to a realm's owner over NATS (a group commit answers in ms).
inline constexpr std::chrono::milliseconds owner_request_timeout = 5s;
/// How often a node reads the live nodes (rendezvous input); when they changed, its realms with
/// another preferred owner hand over.
inline constexpr std::chrono::milliseconds placement_check_interval = 1s;
/// A realm checks its placement this long after it was taken: a take decided on an older view
/// of the live nodes (or at the next node in rank while the preferred one could not take it)
/// moves to its preferred owner without a periodic message to every realm.
inline constexpr std::chrono::milliseconds placement_settle = 3 * placement_check_interval;
/// A follower forwards a session's queued changesets in requests of about this size: NATS
/// refuses payloads over its max_payload (1 MiB unless configured).
inline constexpr std::size_t max_forward_bytes = 512 * 1024;
/// Beyond the lease time, how long a request keeps looking for an owner before the session
/// gets a retryable ERROR: a dead owner's realms are free only once its lease expired.
inline constexpr std::chrono::milliseconds owner_search_margin = 5s;

// ---- bounds of the configuration (config_file.cpp, server_options.cpp) -------------------------

/// Beyond these a configured value is a typo (an extra digit), not a plan: refused by name.
inline constexpr std::size_t max_connections_ceiling = 10'000'000;
inline constexpr std::size_t max_sessions_per_connection_ceiling = 1'000'000;
inline constexpr std::size_t min_send_queue_bytes = 1024;
inline constexpr std::size_t max_send_queue_bytes = std::size_t{1} << 40;
/// send_queue_timeout and realm_idle_timeout: a day.
inline constexpr std::chrono::milliseconds longest_limit_timeout = 24h;
/// shutdown_timeout and lease_time: an hour.
inline constexpr std::chrono::milliseconds longest_shutdown_or_lease = 1h;
/// The token secret is an HMAC-SHA256 key: fewer than 128 bits would be guessable.
inline constexpr std::size_t min_token_secret_bytes = 16;

}  // namespace actorsync::server::tuning
