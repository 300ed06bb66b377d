// pg_history_store: the read side. Reads need no ownership and see committed history only.
#include <optional>

#include <actorsync/protocol/limits.hpp>
#include "cluster/pg_history_state.hpp"
#include "protocol/codec.hpp"

namespace actorsync::cluster {

namespace {

using read_transaction =
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only>;

// Rows fetched per statement while filling one range (skipped own changesets do not count
// toward the range's limits, so a range may need several pages).
constexpr std::size_t page_rows = 256;

/// Bytes of `origin`'s own changesets after `cursor`: its total minus its figure at the last
/// own changeset at or before the cursor (one index probe).
std::uint64_t own_bytes_after(read_transaction& tx, const std::string& path, file_ident origin,
                              version_type cursor) {
  auto total = tx.exec_params(
      "SELECT own_bytes FROM actorsync_clients WHERE realm = $1 AND ident = $2", path, origin);
  if (total.empty()) return 0;
  auto through = tx.exec_params(
      "SELECT own_cumulative FROM actorsync_history WHERE realm = $1 AND origin = $2 "
      "AND version <= $3 ORDER BY version DESC LIMIT 1",
      path, origin, cursor);
  const auto own_total = total[0][0].as<std::uint64_t>();
  const auto before = through.empty() ? std::uint64_t{0} : through[0][0].as<std::uint64_t>();
  return own_total >= before ? own_total - before : 0;
}

storage::result<storage::history_range> read_range(read_transaction& tx, const std::string& path,
                                                   version_type after, std::size_t max_bytes,
                                                   file_ident skip_origin) {
  storage::history_range range;
  auto head =
      tx.exec_params("SELECT version, total_bytes FROM actorsync_heads WHERE realm = $1", path);
  const version_type latest = head.empty() ? 0 : head[0][0].as<std::uint64_t>();
  const std::uint64_t total = head.empty() ? 0 : head[0][1].as<std::uint64_t>();
  if (after > latest) {
    return storage_error{storage_errc::bad_progress, head.empty()
                                                         ? "realm has no history"
                                                         : "download cursor is past the history"};
  }
  range.server_version = after;
  std::uint64_t cursor_cumulative = total;
  std::size_t sent_bytes = 0;
  bool full = false;
  while (!full && range.server_version < latest) {
    auto rows = tx.exec_params(
        "SELECT version, origin, cumulative, changeset FROM actorsync_history "
        "WHERE realm = $1 AND version > $2 AND version <= $3 ORDER BY version LIMIT $4",
        path, range.server_version, latest, page_rows);
    if (rows.empty()) {
      return storage_error{storage_errc::corruption, "history of " + path +
                                                         " has a gap after version " +
                                                         std::to_string(range.server_version)};
    }
    for (const auto& row : rows) {
      pqxx::binarystring bytes(row[3]);
      const bool skipped = skip_origin != 0 && row[1].as<std::uint64_t>() == skip_origin;
      if (!skipped && !range.changesets.empty() &&
          (sent_bytes + bytes.size() > max_bytes ||
           range.changesets.size() >= protocol::limits::max_changesets_per_message)) {
        full = true;
        break;
      }
      range.server_version = row[0].as<std::uint64_t>();
      cursor_cumulative = row[2].as<std::uint64_t>();
      if (skipped) continue;
      auto decoded = protocol::decode_changeset({bytes.data(), bytes.size()});
      if (!decoded) {
        return storage_error{storage_errc::corruption,
                             "stored changeset does not decode: " + decoded.error().reason};
      }
      sent_bytes += bytes.size();
      range.changesets.push_back(std::move(decoded.message()));
    }
  }
  range.remaining_bytes = total - cursor_cumulative;
  if (skip_origin != 0) {
    range.remaining_bytes -= own_bytes_after(tx, path, skip_origin, range.server_version);
  }
  return range;
}

// The owner's read of its newest history, from memory (pg_realm_state::recent): nullopt when
// `after` is older than what it keeps. The same range as the database would give: the rows are
// the committed ones, and what remains after the range lies wholly in memory too.
std::optional<storage::history_range> read_recent(pg_realm_state& realm, version_type after,
                                                  std::size_t max_bytes, file_ident skip_origin) {
  std::lock_guard lock(realm.mutex);
  if (realm.lost || after > realm.durable_version) return std::nullopt;
  const auto first =
      realm.recent.empty() ? realm.durable_version + 1 : realm.recent.front().version;
  if (after + 1 < first) return std::nullopt;
  storage::history_range range;
  range.server_version = after;
  std::size_t sent_bytes = 0;
  bool full = false;
  for (const auto& row : realm.recent) {
    if (row.version <= after) continue;
    const bool skipped = skip_origin != 0 && row.origin == skip_origin;
    if (!full && !skipped && !range.changesets.empty() &&
        (sent_bytes + row.encoded.size() > max_bytes ||
         range.changesets.size() >= protocol::limits::max_changesets_per_message)) {
      full = true;
    }
    if (full) {
      if (!skipped) range.remaining_bytes += row.encoded.size();
      continue;
    }
    range.server_version = row.version;
    if (skipped) continue;
    auto decoded = protocol::decode_changeset(
        {reinterpret_cast<const std::uint8_t*>(row.encoded.data()), row.encoded.size()});
    if (!decoded) return std::nullopt;  // the database path reports it
    sent_bytes += row.encoded.size();
    range.changesets.push_back(std::move(decoded.message()));
  }
  return range;
}

}  // namespace

storage::result<storage::history_range> pg_history_store::read(
    const std::string& realm_path, protocol::version_type after, std::size_t max_bytes,
    protocol::file_ident skip_origin) const {
  if (auto realm = impl_->owned(realm_path)) {
    if (auto recent = read_recent(*realm, after, max_bytes, skip_origin)) {
      impl_->reads_from_memory.fetch_add(1, std::memory_order_relaxed);
      return *recent;
    }
  }
  try {
    auto connection = impl_->pool.borrow();
    try {
      // One snapshot: the head's totals and the rows must describe one state.
      read_transaction tx(*connection);
      auto range = read_range(tx, realm_path, after, max_bytes, skip_origin);
      tx.commit();
      return range;
    } catch (...) {
      connection.discard();
      throw;
    }
  } catch (const std::exception& e) {
    return database_error("reading the history of " + realm_path, e);
  }
}

storage::result<protocol::version_type> pg_history_store::try_latest_server_version(
    const std::string& realm_path) const {
  if (auto realm = impl_->owned(realm_path)) {
    std::lock_guard lock(realm->mutex);
    return realm->durable_version;
  }
  return impl_->read_one<protocol::version_type>(
      "reading the head of " + realm_path, 0,
      [&](pqxx::nontransaction& tx) {
        return tx.exec_params("SELECT version FROM actorsync_heads WHERE realm = $1", realm_path);
      },
      [](const pqxx::row& row) { return row[0].as<std::uint64_t>(); });
}

storage::result<protocol::version_type> pg_history_store::try_last_integrated_client_version(
    const std::string& realm_path, protocol::file_ident client) const {
  return impl_->read_one<protocol::version_type>(
      "reading a client record of " + realm_path, 0,
      [&](pqxx::nontransaction& tx) {
        return tx.exec_params(
            "SELECT last_client_version FROM actorsync_clients WHERE realm = $1 AND ident = $2",
            realm_path, client);
      },
      [](const pqxx::row& row) { return row[0].as<std::uint64_t>(); });
}

storage::result<bool> pg_history_store::try_is_valid_client_file_ident(
    const std::string& realm_path, storage::file_ident_grant grant) const {
  if (grant.ident == 0) return false;
  return impl_->read_one<bool>(
      "reading a client record of " + realm_path, false,
      [&](pqxx::nontransaction& tx) {
        return tx.exec_params("SELECT salt FROM actorsync_clients WHERE realm = $1 AND ident = $2",
                              realm_path, grant.ident);
      },
      [&](const pqxx::row& row) { return row[0].as<std::uint64_t>() == grant.salt; });
}

// The plain reads answer as for an unknown realm or client when the database cannot be read;
// realm actors use the try_ forms.
protocol::version_type pg_history_store::latest_server_version(
    const std::string& realm_path) const {
  auto latest = try_latest_server_version(realm_path);
  return latest ? latest.value() : 0;
}

protocol::version_type pg_history_store::last_integrated_client_version(
    const std::string& realm_path, protocol::file_ident client) const {
  auto integrated = try_last_integrated_client_version(realm_path, client);
  return integrated ? integrated.value() : 0;
}

bool pg_history_store::is_valid_client_file_ident(const std::string& realm_path,
                                                  storage::file_ident_grant grant) const {
  auto valid = try_is_valid_client_file_ident(realm_path, grant);
  return valid && valid.value();
}

}  // namespace actorsync::cluster
