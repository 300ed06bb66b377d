// Client-side storage: many realms in one RocksDB database (key prefixes per realm), each with
// content, local history, sync metadata and byte counters, all changed in atomic write batches.
// Thread-safety: every method may be called from any thread; a realm serialises its own writes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <actorsync/protocol/messages.hpp>
#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

using protocol::changeset;
using protocol::file_ident;
using protocol::value;
using protocol::version_type;

enum class durability {
  full,           ///< fsync every commit: survives power loss
  process_crash,  ///< WAL written, not fsynced: survives a killed process, not power loss
};
std::string_view to_string(durability level);

struct database_options {
  durability commit_durability = durability::full;
  std::size_t block_cache_bytes = 32 * 1024 * 1024;
  /// Commits and other writes are refused with storage_full (nothing written, the realm as
  /// before) while the directory's filesystem has less than this available, and open() refuses
  /// below it: RocksDB must never meet a full disk (storage/disk_space.hpp). 0: no check.
  std::uint64_t min_free_bytes = default_min_free_bytes;
};

/// Persisted per realm; cursors and counters move in the same batch as the data they describe.
struct sync_metadata {
  file_ident client_file_ident = 0;
  std::uint64_t file_ident_salt = 0;
  version_type latest_client_version = 0;  ///< newest local changeset
  // upload cursor
  version_type acknowledged_client_version = 0;  ///< server's last_integrated_client_version
  /// Newest server version integrated locally (what UPLOAD reports); equals
  /// download_server_version after every integrate_download.
  version_type last_integrated_server_version = 0;
  // download cursor
  version_type download_server_version = 0;
  version_type download_last_integrated_client_version = 0;
  // lifetime byte counters (bytes as protocol::encoded_size counts them)
  std::uint64_t uploadable_bytes = 0;    ///< all local changesets ever committed
  std::uint64_t uploaded_bytes = 0;      ///< of those, acknowledged by the server
  std::uint64_t downloaded_bytes = 0;    ///< changesets received once (re-sends not counted)
  std::uint64_t downloadable_bytes = 0;  ///< server's figure from the last DOWNLOAD
  /// The acknowledged_client_version stored on disk (what a crash leaves). An acknowledgement
  /// that changes nothing but cursors is kept in memory and stored with the realm's next write
  /// or persist_metadata(); until then this lags acknowledged_client_version. Not stored itself.
  version_type persisted_acknowledged_client_version = 0;
  /// The realm's session was paused: sticky across reopening and restarts until resumed.
  bool sync_paused = false;
  friend bool operator==(const sync_metadata&, const sync_metadata&) = default;
};

/// What finish_reset did with the local changesets the server never acknowledged.
struct reset_outcome {
  std::uint64_t recovered = 0;  ///< replayed onto the server's copy, to be uploaded
  std::uint64_t discarded = 0;  ///< dropped (recovery not asked for)
};

/// A committed local transaction, reported to the commit listener.
struct commit_event {
  version_type client_version;
  std::uint64_t changeset_bytes;
};

class realm_store;

/// A write transaction on one realm. Nothing is visible or stored until commit(); destroying
/// it uncommitted abandons it. Not thread-safe; one writer per realm at a time (commit
/// serialises).
class write_transaction {
 public:
  write_transaction(write_transaction&&) noexcept;
  write_transaction& operator=(write_transaction&&) noexcept;
  ~write_transaction();

  write_transaction& create_object(std::string collection, std::string object_id);
  write_transaction& erase_object(std::string collection, std::string object_id);
  write_transaction& set_field(std::string collection, std::string object_id, std::string field,
                               value new_value);
  write_transaction& add_integer(std::string collection, std::string object_id, std::string field,
                                 std::int64_t delta);

  /// Applies and stores the changeset atomically (content, history, metadata in one write
  /// batch); returns its client version. An empty transaction stores nothing and returns the
  /// current latest client version. An invalid instruction refuses the whole transaction with
  /// bad_changeset. The transaction is empty afterwards. The realm_store must outlive it.
  result<version_type> commit();

 private:
  friend class realm_store;
  write_transaction(realm_store* store);
  realm_store* store_;
  std::vector<protocol::instruction> instructions_;
};

/// One realm inside a database. Obtained from database::open_realm; shares the database.
class realm_store {
 public:
  ~realm_store();
  const std::string& path() const;

  // ---- reads ----
  // Each read sees one consistent state (a RocksDB snapshot or iterator). A stored record that
  // does not decode reads as absent; writes touching it fail with `corruption`.
  std::optional<value> get_field(const std::string& collection, const std::string& object_id,
                                 const std::string& field) const;
  bool object_exists(const std::string& collection, const std::string& object_id) const;
  /// Visible objects of a collection, in key order, with their visible fields.
  void for_each_object(
      const std::string& collection,
      const std::function<void(const std::string& object_id,
                               const std::vector<std::pair<std::string, value>>& fields)>& visit)
      const;
  /// Digest (hex SHA-256) of the visible content: equal on replicas that converged.
  std::string content_digest() const;

  // ---- local writes ----
  write_transaction begin_write();
  /// Called on the committing thread after each durable local commit, outside the realm's lock
  /// (it may read the store). Keep it cheap (e.g. send a message to the session actor). With
  /// several committing threads, events may arrive out of version order. One listener per realm.
  void set_commit_listener(std::function<void(const commit_event&)> listener);

  // ---- sync ----
  sync_metadata metadata() const;
  /// Local changesets with client_version > after, oldest first, stopping once max_bytes is
  /// reached (at least one changeset if any exists).
  result<std::vector<changeset>> local_changesets_after(version_type after,
                                                        std::size_t max_bytes) const;
  /// Records the server's file ident. Content written before it is re-stamped (origin 0 becomes
  /// `ident`, see docs/merge.md) in the same batch. Setting the same ident again is a no-op; a
  /// different one is invalid_argument.
  status set_client_file_ident(file_ident ident, std::uint64_t salt);
  /// Integrates one DOWNLOAD atomically: applies the changesets (merge rules), advances the
  /// download cursor, records the upload acknowledgement and byte counters. A changeset that
  /// does not validate (or has origin 0) refuses the whole message with bad_changeset; a cursor
  /// going backwards or an acknowledgement beyond latest_client_version is bad_progress;
  /// nothing is applied either way. Changesets of an origin already integrated up to their
  /// client version, and our own, are skipped (exactly once).
  /// A DOWNLOAD that changes no content (an acknowledgement, or only changesets integrated
  /// before) is not written: its cursors stay in memory until the next write of this realm,
  /// persist_metadata() or the store's destruction (an ack-only DOWNLOAD per UPLOAD cost a
  /// RocksDB write each). A crash meanwhile loses only cursors: the session then re-uploads
  /// from the older acknowledgement, which the server de-duplicates.
  status integrate_download(const protocol::download_message& download);
  /// Writes cursors that integrate_download kept in memory; nothing if there are none.
  status persist_metadata();
  /// Records that the realm's session is paused (or no longer): written at once, with any
  /// cursors kept in memory; setting the current value writes nothing.
  status set_sync_paused(bool paused);

  // ---- client reset (docs/sessions.md, "Client reset") ----
  /// True while a reset is begun and not finished, e.g. after a crash in the middle: the
  /// session carries it on before anything else.
  bool reset_pending() const;
  /// Begins (or begins again) a client reset: records it durably and returns an empty staging
  /// realm, invisible to this realm's readers, into which the session downloads the server's
  /// copy (IDENT and DOWNLOAD as for any realm). Local writes to this realm go on meanwhile.
  result<std::shared_ptr<realm_store>> begin_reset();
  /// Ends the reset in one write batch: this realm's content, history and cursors become the
  /// staging realm's. With `recover`, the local changesets the server never acknowledged
  /// (including those committed during the reset) are first replayed onto the staging copy as
  /// new local changesets with their original timestamps (the merge rules decide as if they had
  /// been uploaded before); a changeset that cannot be replayed refuses the reset with
  /// bad_changeset and changes nothing, so the caller may finish without recovery. Readers see
  /// the old state or the new one, never a mix; a crash before the batch leaves the reset
  /// pending. The staging realm must not be used afterwards.
  result<reset_outcome> finish_reset(realm_store& staging, bool recover);

 private:
  friend class database;
  friend class write_transaction;
  struct impl;
  explicit realm_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

/// One RocksDB database per data directory, holding any number of realms.
class database {
 public:
  static result<std::shared_ptr<database>> open(const std::filesystem::path& directory,
                                                database_options options = {});
  ~database();
  /// Opens (or creates) a realm. Opening an unseen realm costs a few key reads. The same path
  /// opened twice gives the same store while the first is alive. The path must pass
  /// protocol::validate_realm_path (else invalid_argument). Realms keep the database open.
  result<std::shared_ptr<realm_store>> open_realm(const std::string& realm_path);

 private:
  struct impl;
  explicit database(std::shared_ptr<impl> impl);
  std::shared_ptr<impl> impl_;  ///< shared with the realms, which keep the database open
  friend class realm_store;
};

}  // namespace actorsync::storage
