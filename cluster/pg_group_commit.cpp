// pg_history_store: the writer thread's group commit, one transaction for many realms, fenced
// per realm. See pg_history_store.hpp for the rules.
#include <chrono>
#include <map>
#include <set>

#include "cluster/pg_arrays.hpp"
#include "cluster/pg_history_state.hpp"

namespace actorsync::cluster {

namespace {

/// The writes of one realm in one group: its head moves from old_version to the last item's.
struct realm_batch {
  std::string path;
  std::shared_ptr<pg_realm_state> realm;
  std::uint64_t epoch = 0;
  version_type old_version = 0;
  const pg_pending_write* last = nullptr;
  std::vector<pg_pending_write*> items;
};

void complete(pg_pending_write& item) {
  if (item.integrated) {
    if (item.refused) {
      item.integrated(*item.refused);
    } else {
      item.integrated(item.outcome);
    }
  } else if (item.allocated) {
    if (item.refused) {
      item.allocated(*item.refused);
    } else {
      item.allocated(item.grant);
    }
  }
}

/// Groups the group's live writes by realm; writes of a realm already lost are refused here.
std::vector<realm_batch> batch_by_realm(std::deque<pg_pending_write>& group) {
  std::vector<realm_batch> batches;
  std::map<const pg_realm_state*, std::size_t> index;
  for (auto& item : group) {
    if (item.refused) continue;
    std::lock_guard lock(item.realm->mutex);
    if (item.realm->lost || item.realm->epoch != item.epoch) {
      item.refused = item.realm->lost.value_or(
          storage_error{storage_errc::realm_lost, "realm " + item.path + " changed hands"});
      continue;
    }
    auto [at, added] = index.try_emplace(item.realm.get(), batches.size());
    if (added) {
      batches.push_back({item.path, item.realm, item.epoch, item.realm->head_version, nullptr, {}});
    }
    batches[at->second].items.push_back(&item);
    batches[at->second].last = &item;
  }
  return batches;
}

/// The fenced compare-and-set of every realm's head; returns the realms whose head moved.
std::set<std::string> move_heads(pqxx::work& tx, const std::vector<realm_batch>& batches) {
  array_literal realms, old_versions, epochs, versions, totals, idents;
  for (const auto& b : batches) {
    realms.add_text(b.path);
    old_versions.add_number(b.old_version);
    epochs.add_number(b.epoch);
    versions.add_number(b.last->head_version);
    totals.add_number(b.last->head_bytes);
    idents.add_number(b.last->head_last_ident);
  }
  auto moved = tx.exec_params(
      "UPDATE actorsync_heads h SET version = u.version, total_bytes = u.total, "
      "last_ident = u.ident "
      "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
      "$6::bigint[]) AS u(realm, old_version, epoch, version, total, ident) "
      "WHERE h.realm = u.realm AND h.version = u.old_version AND h.epoch = u.epoch "
      "RETURNING h.realm",
      realms.str(), old_versions.str(), epochs.str(), versions.str(), totals.str(), idents.str());
  std::set<std::string> out;
  for (const auto& row : moved) out.insert(row[0].as<std::string>());
  return out;
}

/// History rows and client records of the realms whose head moved, one statement each.
void write_rows(pqxx::work& tx, const std::vector<const realm_batch*>& kept) {
  array_literal realms, versions, origins, cumulative, own, changesets;
  // One row per client per statement: ON CONFLICT may not touch a row twice.
  std::map<std::pair<std::string, file_ident>, client_entry> clients;
  for (const auto* b : kept) {
    for (const auto* item : b->items) {
      for (const auto& row : item->rows) {
        realms.add_text(b->path);
        versions.add_number(row.version);
        origins.add_number(row.origin);
        cumulative.add_number(row.cumulative);
        own.add_number(row.own_cumulative);
        changesets.add_hex(row.encoded);
      }
      if (item->client) clients[{b->path, item->client->ident}] = item->client->entry;
    }
  }
  if (!versions.empty()) {
    tx.exec_params(
        "INSERT INTO actorsync_history "
        "(realm, version, origin, cumulative, own_cumulative, changeset) "
        "SELECT u.realm, u.version, u.origin, u.cumulative, u.own, decode(u.hex, 'hex') "
        "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], "
        "$6::text[]) AS u(realm, version, origin, cumulative, own, hex)",
        realms.str(), versions.str(), origins.str(), cumulative.str(), own.str(), changesets.str());
  }
  if (clients.empty()) return;
  array_literal client_realms, idents, salts, last_versions, own_bytes;
  for (const auto& [key, entry] : clients) {
    client_realms.add_text(key.first);
    idents.add_number(key.second);
    salts.add_number(entry.salt);
    last_versions.add_number(entry.last_client_version);
    own_bytes.add_number(entry.own_bytes);
  }
  tx.exec_params(
      "INSERT INTO actorsync_clients (realm, ident, salt, last_client_version, own_bytes) "
      "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], "
      "$5::bigint[]) "
      "ON CONFLICT (realm, ident) DO UPDATE SET "
      "last_client_version = EXCLUDED.last_client_version, own_bytes = EXCLUDED.own_bytes",
      client_realms.str(), idents.str(), salts.str(), last_versions.str(), own_bytes.str());
}

// Keeps the realm's newest committed rows (see pg_realm_state::recent). Under its mutex.
void remember_committed(pg_realm_state& realm, std::vector<history_row>& rows,
                        const pg_options& options) {
  for (auto& row : rows) {
    realm.recent_bytes += row.encoded.size();
    realm.recent.push_back(std::move(row));
  }
  while (!realm.recent.empty() && (realm.recent.size() > options.recent_history_rows ||
                                   realm.recent_bytes > options.recent_history_bytes)) {
    realm.recent_bytes -= realm.recent.front().encoded.size();
    realm.recent.pop_front();
  }
}

void refuse_batch(const realm_batch& b, const storage_error& error) {
  {
    std::lock_guard lock(b.realm->mutex);
    if (!b.realm->lost) b.realm->lost = error;
  }
  for (auto* item : b.items) item->refused = error;
}

}  // namespace

void pg_history_store::impl::commit_group(std::deque<pg_pending_write>& group) {
  auto batches = batch_by_realm(group);
  if (!batches.empty()) {
    std::vector<const realm_batch*> kept, fenced;
    const auto began = std::chrono::steady_clock::now();
    try {
      if (!writer_connection) writer_connection = connect(options.url);
      pqxx::work tx(*writer_connection);
      const auto moved = move_heads(tx, batches);
      for (const auto& b : batches) (moved.count(b.path) ? kept : fenced).push_back(&b);
      write_rows(tx, kept);
      tx.commit();  // synchronous_commit is on: durable when this returns
      commit_micros.fetch_add(
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - began)
                                         .count()),
          std::memory_order_relaxed);
    } catch (const std::exception& e) {
      // Nothing of the group is acknowledged. Each realm is reloaded by its next acquisition:
      // the commit may or may not have happened (in doubt), the database says which.
      if (writer_connection && !writer_connection->is_open()) writer_connection.reset();
      if (dynamic_cast<const pqxx::broken_connection*>(&e) ||
          dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
        writer_connection.reset();
      }
      const auto error = database_error("committing a group of writes to PostgreSQL", e);
      for (const auto& b : batches) refuse_batch(b, error);
      kept.clear();
      fenced.clear();
    }
    for (const auto* b : fenced) {
      refuse_batch(*b, {storage_errc::realm_lost,
                        "realm " + b->path + " was taken by another node (epoch " +
                            std::to_string(b->epoch) +
                            " is no longer this node's): " + "nothing of this write was kept"});
    }
    std::uint64_t idents = 0, integrated = 0;
    for (const auto* b : kept) {
      std::lock_guard lock(b->realm->mutex);
      b->realm->head_version = b->last->head_version;
      b->realm->durable_version = std::max(b->realm->durable_version, b->last->head_version);
      for (auto* item : b->items) {
        idents += item->allocated ? 1 : 0;
        integrated += item->integrated ? 1 : 0;
        remember_committed(*b->realm, item->rows, options);
      }
    }
    if (!kept.empty()) {
      group_writes.fetch_add(1, std::memory_order_relaxed);
      realm_heads_written.fetch_add(kept.size(), std::memory_order_relaxed);
      idents_allocated.fetch_add(idents, std::memory_order_relaxed);
      integrations.fetch_add(integrated, std::memory_order_relaxed);
    }
    fenced_realms.fetch_add(fenced.size(), std::memory_order_relaxed);
  }
  for (auto& item : group) complete(item);
}

}  // namespace actorsync::cluster
