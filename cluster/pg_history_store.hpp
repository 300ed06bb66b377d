// The server's history on PostgreSQL 15: the system of record when the server runs as (part
// of) a cluster (docs/cluster.md). Same contract as storage::history_store, plus ownership:
// writes to a realm need it acquired, and every group commit is fenced by the realm's epoch.
//
// Write path: integrations and ident grants of many realms queue up; one writer thread puts a
// group into ONE transaction: a fenced compare-and-set on each realm's head
// (UPDATE ... WHERE version = old AND epoch = mine), then the history rows and client records
// of the realms whose head moved, then COMMIT (synchronous_commit on). A realm whose head did
// not move was taken by another node: its items get realm_lost, the rest of the group commits.
// Callbacks run only after COMMIT returned, on the writer thread, in submission order.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/history_store.hpp"

namespace actorsync::cluster {

struct pg_options {
  std::string url;      ///< libpq connection string or postgresql:// URL
  std::string node_id;  ///< this node's name in leases and realm heads: unique per node
  /// A node that has not renewed its lease for this long (database clock) loses its realms to
  /// any node that acquires them.
  std::chrono::milliseconds lease_time{10000};
  /// The store's own lease thread renews this often; 0: no thread, only renew_lease() renews.
  std::chrono::milliseconds lease_renew_interval{1000};
  /// False for a reader that never writes (tests, tools): it takes no lease, so no node ever
  /// counts it as live or picks it as a realm's preferred owner.
  bool take_lease = true;
  /// An owner keeps each realm's newest committed rows in memory, up to these bounds, and
  /// answers reads that start among them without a query (its acknowledgements, its own
  /// sessions' downloads).
  std::size_t recent_history_rows = 512;
  std::uint64_t recent_history_bytes = 1 << 20;
  /// As history_options: how long the writer gathers a busy group, and a group's size cap.
  std::chrono::microseconds group_commit_window{200};
  std::size_t full_group = 4096;
  std::size_t idle_connections = 4;  ///< pooled connections kept for reads and acquisitions
};

class pg_history_store final : public storage::history_store {
 public:
  /// Connects, creates the tables when missing and registers this node's lease. Refuses with
  /// invalid_argument (empty URL or node id) or unavailable (cannot connect; says why).
  static storage::result<std::shared_ptr<pg_history_store>> open(pg_options options);
  ~pg_history_store() override;  ///< drains queued writes, stops the lease thread

  void allocate_client_file_ident_async(const std::string& realm_path,
                                        allocate_callback done) override;
  bool is_valid_client_file_ident(const std::string& realm_path,
                                  storage::file_ident_grant grant) const override;
  /// As the interface, plus: realm_lost when this node does not own the realm (never acquired,
  /// or fenced: another node raised the epoch), unavailable when the transaction failed (the
  /// realm must be acquired again, which reloads its head from the database).
  void integrate_async(const std::string& realm_path, storage::file_ident_grant client,
                       std::vector<protocol::changeset> changesets,
                       integrate_callback done) override;
  /// Reads need no ownership: any node can serve a realm's history.
  storage::result<storage::history_range> read(const std::string& realm_path,
                                               protocol::version_type after, std::size_t max_bytes,
                                               protocol::file_ident skip_origin = 0) const override;
  protocol::version_type latest_server_version(const std::string& realm_path) const override;
  protocol::version_type last_integrated_client_version(const std::string& realm_path,
                                                        protocol::file_ident client) const override;
  storage::history_store_stats stats() const override;
  storage::result<bool> try_is_valid_client_file_ident(
      const std::string& realm_path, storage::file_ident_grant grant) const override;
  storage::result<protocol::version_type> try_last_integrated_client_version(
      const std::string& realm_path, protocol::file_ident client) const override;
  storage::result<protocol::version_type> try_latest_server_version(
      const std::string& realm_path) const override;

  /// Takes the realm when it is free, released, owned by this node id (an earlier incarnation)
  /// or owned by a node whose lease expired: raises its epoch by one and loads its head. At
  /// once when this store already owns it. Blocking (one transaction). realm_owned_elsewhere
  /// names the live owner.
  storage::status acquire(const std::string& realm_path) override;
  /// Clears the owner (keeping the epoch) so another node may take the realm without waiting
  /// for this node's lease. Call only with nothing of the realm in flight.
  void release(const std::string& realm_path) override;

  /// Renews this node's lease now (expires_at = now() + lease_time on the database clock). The
  /// lease thread calls it every lease_renew_interval; with the interval 0 the caller must.
  storage::status renew_lease();
  /// Draining: this node takes no realm any more (acquire refuses), stops renewing its lease and
  /// ends it now, so that other nodes stop choosing it as a preferred owner. Release the realms
  /// it owns as their writes finish.
  storage::status leave();
  /// Nodes whose lease has not expired, by name (the input of preferred_owner).
  storage::result<std::vector<std::string>> live_nodes() const;
  /// Whether this node still owns the realm by the database (not by its memory, which a node
  /// stalled past its lease cannot trust); when not, the realm is marked lost. Blocking.
  storage::status confirm_owned(const std::string& realm_path);
  /// Every realm's fencing epoch, by realm (tests, tools).
  storage::result<std::map<std::string, std::uint64_t>> epochs() const;
  /// How many realms each node owns now (released realms are not counted), by node name.
  storage::result<std::map<std::string, std::size_t>> owners() const;
  /// Each owned realm's owner now, by realm (released realms are left out; tests, tools).
  storage::result<std::map<std::string, std::string>> realm_owners() const;
  /// The epoch this store holds for the realm; 0 when it does not own it.
  std::uint64_t epoch(const std::string& realm_path) const;
  const std::string& node_id() const;

 private:
  struct impl;
  explicit pg_history_store(std::unique_ptr<impl> impl);
  std::unique_ptr<impl> impl_;
};

}  // namespace actorsync::cluster
