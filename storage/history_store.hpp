// Server-side storage: the history of every realm (changesets by server version), per-client
// last integrated client versions, and client file ident allocation. Durable before
// acknowledged, with group commit: concurrent integrations and ident allocations (with the
// catalog entries of new realms) share one write and one fsync.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <actorsync/protocol/messages.hpp>
#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

struct history_options {
  bool durable = true;  ///< fsync before acknowledging (default); false: WAL without fsync
  /// How long the group-commit writer waits to gather more writes into one batch. Not waited
  /// by a write reaching a writer idle for at least this long (since its last write or open).
  std::chrono::microseconds group_commit_window{200};
  /// A queue this long is written at once, without waiting out the window.
  std::size_t full_group = 4096;
  std::size_t block_cache_bytes = 64 * 1024 * 1024;
  /// Writes (integrations, ident grants) are refused with storage_full while the data
  /// directory's filesystem has less than this available, and open() refuses to start below
  /// it: RocksDB must never meet a full disk (storage/disk_space.hpp says why). 0: no check.
  std::uint64_t min_free_bytes = default_min_free_bytes;
  /// Told, once, what open() found and tolerated but a person should know (a damaged tail of
  /// the write-ahead log after the last acknowledged write, dropped).
  std::function<void(const std::string&)> warn{};
};

struct file_ident_grant {
  protocol::file_ident ident = 0;
  std::uint64_t salt = 0;
};

/// What the group-commit writer has made durable since open (metrics, tests).
struct history_store_stats {
  std::uint64_t group_writes = 0;         ///< batches written: one fsync each when durable
  std::uint64_t idents_allocated = 0;     ///< client file idents granted
  std::uint64_t integrations = 0;         ///< integrations written (refusals not counted)
  std::uint64_t realm_heads_written = 0;  ///< cluster store: realm heads moved (many per group)
  std::uint64_t fenced_realms = 0;        ///< cluster store: realms a group write found taken
  std::uint64_t commit_micros = 0;        ///< cluster store: time in group-commit transactions
  std::uint64_t owned_realms = 0;         ///< cluster store: realms this node holds now
  std::uint64_t reads_from_memory = 0;    ///< cluster store: reads answered without a query
};

/// Outcome of integrating one UPLOAD.
struct integration_result {
  protocol::version_type server_version = 0;                  ///< realm's latest after this batch
  protocol::version_type last_integrated_client_version = 0;  ///< for this client file
  std::size_t integrated = 0;  ///< changesets newly added (re-sent ones are skipped)
  std::uint64_t integrated_bytes = 0;
};

/// A range of history for one DOWNLOAD.
struct history_range {
  std::vector<protocol::changeset> changesets;  ///< server_version and origin set
  protocol::version_type server_version = 0;    ///< cursor after this range
  std::uint64_t remaining_bytes = 0;            ///< history bytes after server_version
};

/// The server's history: the contract every realm actor relies on. Two implementations: the
/// embedded RocksDB store (`open` below, the single-node default) and the PostgreSQL store of a
/// cluster (`cluster/pg_history_store.hpp`). Thread-safe: any thread may call any member.
class history_store {
 public:
  /// The embedded RocksDB store in `directory`. Refuses with corruption, naming the file and
  /// what to do, when its write-ahead log lost acknowledged writes (storage/log_watermark.hpp),
  /// and with storage_full below options.min_free_bytes.
  static result<std::shared_ptr<history_store>> open(const std::filesystem::path& directory,
                                                     history_options options = {});
  virtual ~history_store();  ///< drains pending integrations, then closes

  using allocate_callback = std::function<void(result<file_ident_grant>)>;
  /// Allocates a client file ident unique in this realm, across restarts and crashes (a new
  /// realm gets its catalog entry in the same write). The callback runs on the writer thread
  /// once the grant is durable: concurrent allocations and integrations share one group write.
  /// Refusals: invalid_argument (path); after a failed group write, io_error (as integrations).
  /// An ident is never handed out twice, even when its write failed. Same callback rules as
  /// integrate_async.
  virtual void allocate_client_file_ident_async(const std::string& realm_path,
                                                allocate_callback done) = 0;
  /// Blocking convenience wrapper (tests, tools). Never call it from a store callback.
  result<file_ident_grant> allocate_client_file_ident(const std::string& realm_path);
  virtual bool is_valid_client_file_ident(const std::string& realm_path,
                                          file_ident_grant grant) const = 0;

  using integrate_callback = std::function<void(result<integration_result>)>;
  /// Validates and appends the changesets of `client` under the next server versions; re-sent
  /// changesets (client_version <= last integrated) are skipped. The callback runs on the
  /// writer thread once the batch is durable (or refused: nothing of a refused upload is kept),
  /// callbacks in submission order. Refusals: invalid_argument (path), bad_client_file_ident,
  /// bad_changeset (merge::validate), bad_client_version (versions not increasing within the
  /// upload), bad_progress (last_integrated_server_version beyond the history). After a failed
  /// group write every later call fails with io_error: reopen the store.
  /// Calls for one realm must come from one caller (its realm actor) in order. Callbacks must
  /// not block on this store (integrate() from a callback would wait for itself).
  virtual void integrate_async(const std::string& realm_path, file_ident_grant client,
                               std::vector<protocol::changeset> changesets,
                               integrate_callback done) = 0;
  /// Blocking convenience wrapper for tests and tools.
  result<integration_result> integrate(const std::string& realm_path, file_ident_grant client,
                                       std::vector<protocol::changeset> changesets);

  /// History after `after`, oldest first, at most about max_bytes (at least one changeset if
  /// any) and at most protocol::limits::max_changesets_per_message. Changesets whose origin is
  /// `skip_origin` are not included (nor counted in max_bytes) but still advance the cursor.
  /// remaining_bytes counts the history bytes after the cursor that a reader skipping
  /// `skip_origin` will still be sent (all of them when skip_origin is 0), so that downloaded +
  /// remaining stays constant while no new history arrives. Sees durable integrations only.
  /// `after` beyond the latest version is bad_progress.
  virtual result<history_range> read(const std::string& realm_path, protocol::version_type after,
                                     std::size_t max_bytes,
                                     protocol::file_ident skip_origin = 0) const = 0;
  virtual protocol::version_type latest_server_version(const std::string& realm_path) const = 0;
  virtual protocol::version_type last_integrated_client_version(
      const std::string& realm_path, protocol::file_ident client) const = 0;
  virtual history_store_stats stats() const = 0;

  /// The three reads above for callers that must not act on a guess: a store that can fail to
  /// read (the cluster's database) returns its error instead of "not allocated" or 0, which
  /// would make a realm actor refuse a client for good. The embedded store cannot fail them.
  virtual result<bool> try_is_valid_client_file_ident(const std::string& realm_path,
                                                      file_ident_grant grant) const {
    return is_valid_client_file_ident(realm_path, grant);
  }
  virtual result<protocol::version_type> try_last_integrated_client_version(
      const std::string& realm_path, protocol::file_ident client) const {
    return last_integrated_client_version(realm_path, client);
  }
  virtual result<protocol::version_type> try_latest_server_version(
      const std::string& realm_path) const {
    return latest_server_version(realm_path);
  }

  /// Makes this process the only writer of the realm before its realm actor serves it. A
  /// single-node store owns every realm: it returns at once. A cluster store takes the realm
  /// (raising its fencing epoch) or refuses with realm_owned_elsewhere; after realm_lost or
  /// unavailable from a write, call it again before writing to that realm.
  virtual status acquire(const std::string& realm_path);
  /// Gives the realm up once its realm actor stops with nothing in flight (single node: no-op).
  virtual void release(const std::string& realm_path);

 protected:
  history_store() = default;
};

}  // namespace actorsync::storage
