// Internal to cluster/: the state behind pg_history_store, shared by its write path
// (pg_history_store.cpp) and its read path (pg_history_reads.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "cluster/pg_connection_pool.hpp"
#include "cluster/pg_history_store.hpp"

namespace actorsync::cluster {

using protocol::file_ident;
using protocol::version_type;
using storage::storage_errc;
using storage::storage_error;

/// What this node knows of one client file of a realm it owns (the assigned view: including
/// integrations queued but not yet committed).
struct client_entry {
  std::uint64_t salt = 0;
  version_type last_client_version = 0;
  std::uint64_t own_bytes = 0;
};

/// A storage_error for an exception thrown by libpqxx (or anything else) while doing `what`.
storage_error database_error(const std::string& what, const std::exception& e);

struct history_row {
  version_type version = 0;
  file_ident origin = 0;
  std::uint64_t cumulative = 0;      ///< realm's history bytes through this version
  std::uint64_t own_cumulative = 0;  ///< origin's own bytes through this version
  std::string encoded;               ///< protocol::encode_changeset bytes
};

/// One realm this node acquired. Replaced by a fresh object at every acquisition, so writes
/// queued under an older epoch can never mix with the reloaded head.
struct pg_realm_state {
  std::mutex mutex;
  std::uint64_t epoch = 0;
  /// Set once the realm was fenced or a transaction failed: no write is taken until the realm
  /// is acquired again (the in-memory head may be ahead of the database).
  std::optional<storage_error> lost;
  version_type assigned_version = 0;  ///< including queued integrations
  std::uint64_t assigned_bytes = 0;
  std::uint64_t last_ident = 0;
  version_type durable_version = 0;  ///< committed and acknowledged
  version_type head_version = 0;     ///< the head row's version (writer thread: the CAS's old)
  std::unordered_map<file_ident, client_entry> clients;
  /// The owner's latest committed rows, contiguous and ending at durable_version (bounded by
  /// pg_options::recent_history_rows / _bytes): a read after their start is answered from memory,
  /// so the owner's acknowledgements and its own sessions' downloads cost no query.
  std::deque<history_row> recent;
  std::uint64_t recent_bytes = 0;
};

struct client_row {
  file_ident ident = 0;
  client_entry entry;
};

/// One integration or ident allocation on its way to the writer thread.
struct pg_pending_write {
  std::string path;
  std::shared_ptr<pg_realm_state> realm;
  std::uint64_t epoch = 0;
  std::optional<storage_error> refused;
  std::vector<history_row> rows;
  std::optional<client_row> client;  ///< the client record as it stands after this write
  version_type head_version = 0;     ///< the realm's head after this write
  std::uint64_t head_bytes = 0;
  std::uint64_t head_last_ident = 0;
  std::chrono::steady_clock::time_point queued_at;
  storage::integration_result outcome;
  storage::history_store::integrate_callback integrated;  ///< set for an integration
  storage::file_ident_grant grant;
  storage::history_store::allocate_callback allocated;  ///< set for an allocation
};

struct pg_history_store::impl {
  explicit impl(pg_options o)
      : options(std::move(o)), pool(options.url, options.idle_connections) {}

  pg_options options;
  mutable pg_connection_pool pool;
  std::unique_ptr<pqxx::connection> writer_connection;  ///< writer thread only

  mutable std::mutex realms_mutex;  ///< guards realms
  std::unordered_map<std::string, std::shared_ptr<pg_realm_state>> realms;

  std::mutex queue_mutex;  ///< guards queue, stopping
  std::condition_variable queue_changed;
  std::deque<pg_pending_write> queue;
  bool stopping = false;
  std::thread writer;

  std::mutex lease_mutex;  ///< guards lease_stopping
  std::condition_variable lease_changed;
  bool lease_stopping = false;
  std::atomic<bool> leaving{false};  ///< leave() was called: acquire refuses
  std::thread lease_thread;

  std::atomic<std::uint64_t> group_writes{0};
  std::atomic<std::uint64_t> idents_allocated{0};
  std::atomic<std::uint64_t> integrations{0};
  std::atomic<std::uint64_t> realm_heads_written{0};
  std::atomic<std::uint64_t> fenced_realms{0};
  std::atomic<std::uint64_t> commit_micros{0};
  std::atomic<std::uint64_t> reads_from_memory{0};

  /// The realm's state when this node owns it and it is not lost; else null.
  std::shared_ptr<pg_realm_state> owned(const std::string& path) const;
  /// The client record of `ident`: from the realm's cache, else from the database (cached).
  storage::result<std::optional<client_entry>> find_client(const std::string& path,
                                                           pg_realm_state& realm, file_ident ident);
  void enqueue(pg_pending_write item);
  void submit(const std::string& path, storage::file_ident_grant client,
              std::vector<protocol::changeset>& changesets, integrate_callback done);
  void allocate(const std::string& path, allocate_callback done);
  void writer_loop();
  void commit_group(std::deque<pg_pending_write>& group);
  void lease_loop();
  /// One row of one query on a pooled connection (a broken one is discarded): `absent` when
  /// there is no row, `from_row` of the first otherwise, or the database's error.
  template <class T, class Query, class FromRow>
  storage::result<T> read_one(const std::string& what, T absent, Query query, FromRow from_row) {
    try {
      auto connection = pool.borrow();
      try {
        pqxx::nontransaction tx(*connection);
        auto rows = query(tx);
        return rows.empty() ? absent : from_row(rows[0]);
      } catch (...) {
        connection.discard();
        throw;
      }
    } catch (const std::exception& e) {
      return database_error(what, e);
    }
  }
  /// Whether the database still shows this node's epoch for the realm (marks it lost if not).
  storage::status confirm_owned(const std::string& path, pg_realm_state& realm);
  void stop_lease_thread();  ///< idempotent
};

/// Sets this node's lease to expire lease_time from now on the database clock.
storage::status renew_node_lease(pg_connection_pool& pool, const pg_options& options);

}  // namespace actorsync::cluster
