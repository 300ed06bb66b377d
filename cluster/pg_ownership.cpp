// pg_history_store: taking and giving up realms (the fencing epoch). See pg_history_store.hpp.
#include "cluster/pg_history_state.hpp"
#include "protocol/codec.hpp"

namespace actorsync::cluster {

namespace {

/// The realm's head once this node took it.
struct taken_head {
  version_type version = 0;
  std::uint64_t total_bytes = 0;
  std::uint64_t last_ident = 0;
  std::uint64_t epoch = 0;
};

// One transaction: renew this node's lease (a node must be live to own), make sure the realm
// has a head, then raise its epoch if nobody live holds it. Concurrent acquisitions serialise
// on the head row; the loser re-reads the winner's row and finds a live owner.
storage::result<taken_head> take_head(pqxx::connection& connection, const pg_options& options,
                                      const std::string& path) {
  pqxx::work tx(connection);
  tx.exec_params(
      "INSERT INTO actorsync_nodes (node, expires_at) "
      "VALUES ($1, now() + $2::bigint * interval '1 millisecond') "
      "ON CONFLICT (node) DO UPDATE SET expires_at = EXCLUDED.expires_at",
      options.node_id, static_cast<long long>(options.lease_time.count()));
  tx.exec_params(
      "INSERT INTO actorsync_heads (realm, version, total_bytes, last_ident, owner, epoch) "
      "VALUES ($1, 0, 0, 0, NULL, 0) ON CONFLICT (realm) DO NOTHING",
      path);
  auto taken = tx.exec_params(
      "UPDATE actorsync_heads h SET owner = $2, epoch = h.epoch + 1 "
      "WHERE h.realm = $1 AND (h.owner IS NULL OR h.owner = $2 OR NOT EXISTS ("
      "  SELECT 1 FROM actorsync_nodes n WHERE n.node = h.owner AND n.expires_at > now())) "
      "RETURNING h.version, h.total_bytes, h.last_ident, h.epoch",
      path, options.node_id);
  if (taken.empty()) {
    auto holder = tx.exec_params(
        "SELECT h.owner, h.epoch, (SELECT expires_at - now() FROM actorsync_nodes "
        "WHERE node = h.owner) FROM actorsync_heads h WHERE h.realm = $1",
        path);
    std::string why = "realm " + path + " is owned by a live node";
    if (!holder.empty()) {
      why = "realm " + path + " is owned by node " + holder[0][0].as<std::string>("?") +
            " (epoch " + holder[0][1].as<std::string>("?") + ", lease left " +
            holder[0][2].as<std::string>("?") + ")";
    }
    tx.commit();  // keeps the renewed lease
    return storage_error{storage_errc::realm_owned_elsewhere, why};
  }
  taken_head head{taken[0][0].as<std::uint64_t>(), taken[0][1].as<std::uint64_t>(),
                  taken[0][2].as<std::uint64_t>(), taken[0][3].as<std::uint64_t>()};
  tx.commit();
  return head;
}

}  // namespace

storage::status pg_history_store::acquire(const std::string& realm_path) {
  if (auto why = protocol::validate_realm_path(realm_path); !why.empty()) {
    return storage_error{storage_errc::invalid_argument, why};
  }
  if (impl_->owned(realm_path)) return storage::done{};
  if (impl_->leaving) {
    return storage_error{storage_errc::realm_owned_elsewhere,
                         "node " + impl_->options.node_id + " is draining"};
  }
  storage::result<taken_head> head = storage_error{storage_errc::unavailable, ""};
  try {
    auto connection = impl_->pool.borrow();
    try {
      head = take_head(*connection, impl_->options, realm_path);
    } catch (...) {
      connection.discard();
      throw;
    }
  } catch (const std::exception& e) {
    return database_error("acquiring realm " + realm_path, e);
  }
  if (!head) return head.error();
  auto realm = std::make_shared<pg_realm_state>();
  realm->epoch = head->epoch;
  realm->assigned_version = realm->durable_version = realm->head_version = head->version;
  realm->assigned_bytes = head->total_bytes;
  realm->last_ident = head->last_ident;
  std::lock_guard lock(impl_->realms_mutex);
  auto& slot = impl_->realms[realm_path];
  if (slot) {
    // Writes still queued under the old state are refused: they were assigned versions on a
    // head that is no longer this node's view.
    std::lock_guard old_lock(slot->mutex);
    if (!slot->lost) {
      slot->lost = storage_error{storage_errc::realm_lost, "realm " + realm_path + " re-acquired"};
    }
  }
  slot = realm;
  return storage::done{};
}

void pg_history_store::release(const std::string& realm_path) {
  std::shared_ptr<pg_realm_state> realm;
  {
    std::lock_guard lock(impl_->realms_mutex);
    auto it = impl_->realms.find(realm_path);
    if (it == impl_->realms.end()) return;
    realm = std::move(it->second);
    impl_->realms.erase(it);
  }
  std::uint64_t epoch = 0;
  {
    std::lock_guard lock(realm->mutex);
    if (realm->lost) return;  // not ours any more (or unknown): nothing to clear
    realm->lost = storage_error{storage_errc::realm_lost, "realm " + realm_path + " released"};
    epoch = realm->epoch;
  }
  try {
    auto connection = impl_->pool.borrow();
    pqxx::work tx(*connection);
    tx.exec_params(
        "UPDATE actorsync_heads SET owner = NULL WHERE realm = $1 AND epoch = $2 AND owner = $3",
        realm_path, epoch, impl_->options.node_id);
    tx.commit();
  } catch (const std::exception&) {
    // Best effort: when the release is lost, the realm frees itself as this node's lease runs out.
  }
}

}  // namespace actorsync::cluster
