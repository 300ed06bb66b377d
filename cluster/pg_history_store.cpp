#include "cluster/pg_history_store.hpp"

#include <openssl/rand.h>

#include <future>

#include "cluster/pg_history_state.hpp"
#include "cluster/pg_schema.hpp"
#include "protocol/codec.hpp"
#include "storage/merge.hpp"

namespace actorsync::cluster {

namespace {

std::uint64_t random_salt() {
  std::uint64_t salt = 0;
  while (salt == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&salt), sizeof salt) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    salt &= 0x7fffffffffffffffULL;  // positive in msgpack readers and in a bigint column
  }
  return salt;
}

// Refusals that a node whose realm was taken while it stalled could give wrongly.
bool stale_state_may_explain(storage_errc code) {
  return code == storage_errc::bad_client_file_ident || code == storage_errc::bad_progress;
}

storage_error not_owned(const std::string& path) {
  return {storage_errc::realm_lost,
          "this node does not own realm " + path + ": acquire it before writing"};
}

}  // namespace

storage_error database_error(const std::string& what, const std::exception& e) {
  return {storage_errc::unavailable, what + ": " + e.what()};
}

storage::status renew_node_lease(pg_connection_pool& pool, const pg_options& options) {
  try {
    auto connection = pool.borrow();
    try {
      pqxx::work tx(*connection);
      tx.exec_params(
          "INSERT INTO actorsync_nodes (node, expires_at) "
          "VALUES ($1, now() + $2::bigint * interval '1 millisecond') "
          "ON CONFLICT (node) DO UPDATE SET expires_at = EXCLUDED.expires_at",
          options.node_id, static_cast<long long>(options.lease_time.count()));
      tx.commit();
    } catch (...) {
      connection.discard();
      throw;
    }
    return storage::done{};
  } catch (const std::exception& e) {
    return database_error("renewing the lease of node " + options.node_id, e);
  }
}

storage::status pg_history_store::impl::confirm_owned(const std::string& path,
                                                      pg_realm_state& realm) {
  std::uint64_t mine = 0;
  {
    std::lock_guard lock(realm.mutex);
    if (realm.lost) return *realm.lost;
    mine = realm.epoch;
  }
  try {
    auto connection = pool.borrow();
    pqxx::nontransaction tx(*connection);
    auto row = tx.exec_params("SELECT epoch FROM actorsync_heads WHERE realm = $1", path);
    if (!row.empty() && row[0][0].as<std::uint64_t>() == mine) return storage::done{};
  } catch (const std::exception& e) {
    return database_error("confirming the owner of realm " + path, e);
  }
  storage_error lost{storage_errc::realm_lost,
                     "realm " + path + " was taken by another node (epoch " + std::to_string(mine) +
                         " is no longer this node's)"};
  std::lock_guard lock(realm.mutex);
  if (!realm.lost) realm.lost = lost;
  return lost;
}

std::shared_ptr<pg_realm_state> pg_history_store::impl::owned(const std::string& path) const {
  std::lock_guard lock(realms_mutex);
  auto it = realms.find(path);
  if (it == realms.end()) return nullptr;
  std::lock_guard realm_lock(it->second->mutex);
  return it->second->lost ? nullptr : it->second;
}

storage::result<std::optional<client_entry>> pg_history_store::impl::find_client(
    const std::string& path, pg_realm_state& realm, file_ident ident) {
  {
    std::lock_guard lock(realm.mutex);
    if (auto it = realm.clients.find(ident); it != realm.clients.end()) return {it->second};
  }
  try {
    auto connection = pool.borrow();
    pqxx::nontransaction tx(*connection);
    auto rows = tx.exec_params(
        "SELECT salt, last_client_version, own_bytes FROM actorsync_clients "
        "WHERE realm = $1 AND ident = $2",
        path, ident);
    if (rows.empty()) return {std::optional<client_entry>()};
    client_entry entry{rows[0][0].as<std::uint64_t>(), rows[0][1].as<std::uint64_t>(),
                       rows[0][2].as<std::uint64_t>()};
    std::lock_guard lock(realm.mutex);
    // The owner is the only writer: what the database holds is the assigned view too.
    auto [it, inserted] = realm.clients.try_emplace(ident, entry);
    return {std::optional<client_entry>(it->second)};
  } catch (const std::exception& e) {
    return database_error("reading a client record of " + path, e);
  }
}

void pg_history_store::impl::enqueue(pg_pending_write item) {
  item.queued_at = std::chrono::steady_clock::now();
  std::lock_guard lock(queue_mutex);
  queue.push_back(std::move(item));
  // Wake the writer when work appears and when a gathering group is full.
  if (queue.size() == 1 || queue.size() == options.full_group) queue_changed.notify_one();
}

void pg_history_store::impl::submit(const std::string& path, storage::file_ident_grant client,
                                    std::vector<protocol::changeset>& changesets,
                                    integrate_callback done) {
  pg_pending_write item;
  item.path = path;
  item.integrated = std::move(done);
  auto refuse = [&](storage_error error) {
    // A stalled node's memory may be behind the database: it refuses only what the realm's
    // current owner would refuse too, else the client would be told a retryable lie.
    if (item.realm && stale_state_may_explain(error.code)) {
      if (auto confirmed = confirm_owned(path, *item.realm); !confirmed) error = confirmed.error();
    }
    item.refused = std::move(error);
    enqueue(std::move(item));
  };
  if (auto why = protocol::validate_realm_path(path); !why.empty()) {
    return refuse({storage_errc::invalid_argument, why});
  }
  item.realm = owned(path);
  if (!item.realm) return refuse(not_owned(path));
  auto& realm = *item.realm;
  auto found = client.ident == 0 ? storage::result<std::optional<client_entry>>(std::nullopt)
                                 : find_client(path, realm, client.ident);
  if (!found) return refuse(found.error());
  if (!found.value() || found.value()->salt != client.salt) {
    return refuse({storage_errc::bad_client_file_ident,
                   "client file ident was not allocated for this realm"});
  }
  version_type previous = 0;
  for (const auto& cs : changesets) {
    if (auto why = storage::merge::validate(cs); !why.empty()) {
      return refuse({storage_errc::bad_changeset, why});
    }
    if (cs.client_version <= previous) {
      return refuse({storage_errc::bad_client_version, "client versions do not increase"});
    }
    previous = cs.client_version;
  }

  std::unique_lock lock(realm.mutex);
  if (realm.lost) {
    auto lost = *realm.lost;
    lock.unlock();
    return refuse(std::move(lost));
  }
  for (const auto& cs : changesets) {
    if (cs.last_integrated_server_version > realm.assigned_version) {
      lock.unlock();
      return refuse({storage_errc::bad_progress,
                     "changeset claims a server version the realm does not have"});
    }
  }
  auto& progress = realm.clients[client.ident];
  for (auto& cs : changesets) {
    if (cs.client_version <= progress.last_client_version) continue;  // re-sent: exactly once
    cs.server_version = ++realm.assigned_version;
    cs.origin_file_ident = client.ident;
    protocol::byte_buffer encoded;
    protocol::encode_changeset(cs, encoded);
    realm.assigned_bytes += encoded.size();
    progress.last_client_version = cs.client_version;
    progress.own_bytes += encoded.size();
    item.rows.push_back(
        {cs.server_version, client.ident, realm.assigned_bytes, progress.own_bytes,
         std::string(reinterpret_cast<const char*>(encoded.data()), encoded.size())});
    ++item.outcome.integrated;
    item.outcome.integrated_bytes += encoded.size();
  }
  if (item.outcome.integrated > 0) item.client = client_row{client.ident, progress};
  item.epoch = realm.epoch;
  item.head_version = realm.assigned_version;
  item.head_bytes = realm.assigned_bytes;
  item.head_last_ident = realm.last_ident;
  item.outcome.server_version = realm.assigned_version;
  item.outcome.last_integrated_client_version = progress.last_client_version;
  enqueue(std::move(item));  // under the realm's lock: queue order is version order
}

void pg_history_store::impl::allocate(const std::string& path, allocate_callback done) {
  pg_pending_write item;
  item.path = path;
  item.allocated = std::move(done);
  if (auto why = protocol::validate_realm_path(path); !why.empty()) {
    item.refused = storage_error{storage_errc::invalid_argument, why};
    return enqueue(std::move(item));
  }
  item.realm = owned(path);
  if (!item.realm) {
    item.refused = not_owned(path);
    return enqueue(std::move(item));
  }
  auto& realm = *item.realm;
  const auto salt = random_salt();
  std::lock_guard lock(realm.mutex);
  if (realm.lost) {
    item.refused = *realm.lost;
    return enqueue(std::move(item));
  }
  // Counted up now: an ident whose write fails is never handed out (the realm is reloaded).
  item.grant = {++realm.last_ident, salt};
  realm.clients[item.grant.ident] = client_entry{salt, 0, 0};
  item.client = client_row{item.grant.ident, client_entry{salt, 0, 0}};
  item.epoch = realm.epoch;
  item.head_version = realm.assigned_version;
  item.head_bytes = realm.assigned_bytes;
  item.head_last_ident = realm.last_ident;
  enqueue(std::move(item));
}

void pg_history_store::impl::writer_loop() {
  const auto window = options.group_commit_window;
  auto last_write_done = std::chrono::steady_clock::now();
  std::unique_lock lock(queue_mutex);
  for (;;) {
    queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
    if (queue.empty()) return;  // stopping and drained
    // As the RocksDB store: gather for a window only while busy; an idle writer goes at once.
    const bool idle = queue.front().queued_at - last_write_done >= window;
    if (!stopping && window.count() > 0 && !idle) {
      queue_changed.wait_until(lock, queue.front().queued_at + window,
                               [&] { return stopping || queue.size() >= options.full_group; });
    }
    std::deque<pg_pending_write> group;
    group.swap(queue);
    lock.unlock();
    commit_group(group);
    last_write_done = std::chrono::steady_clock::now();
    lock.lock();
  }
}

void pg_history_store::impl::lease_loop() {
  std::unique_lock lock(lease_mutex);
  for (;;) {
    if (lease_changed.wait_for(lock, options.lease_renew_interval, [&] { return lease_stopping; }))
      return;
    lock.unlock();
    // A failed renewal is retried at the next tick; if the lease runs out meanwhile, another
    // node may take this node's realms and the fence refuses this node's next commits.
    (void)renew_node_lease(pool, options);
    lock.lock();
  }
}

void pg_history_store::impl::stop_lease_thread() {
  {
    std::lock_guard lock(lease_mutex);
    lease_stopping = true;
  }
  lease_changed.notify_one();
  if (lease_thread.joinable()) lease_thread.join();
}

pg_history_store::pg_history_store(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

pg_history_store::~pg_history_store() {
  impl_->stop_lease_thread();
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_changed.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
}

storage::result<std::shared_ptr<pg_history_store>> pg_history_store::open(pg_options options) {
  if (options.url.empty()) {
    return storage_error{storage_errc::invalid_argument, "no PostgreSQL URL given"};
  }
  if (options.node_id.empty()) {
    return storage_error{storage_errc::invalid_argument, "no node id given"};
  }
  if (options.lease_time.count() <= 0) {
    return storage_error{storage_errc::invalid_argument, "the lease time must be positive"};
  }
  auto state = std::make_unique<impl>(std::move(options));
  try {
    auto connection = connect(state->options.url);
    create_schema(*connection);
    state->writer_connection = std::move(connection);
  } catch (const std::exception& e) {
    return database_error("cannot use PostgreSQL at " + redacted_url(state->options.url), e);
  }
  if (!state->options.take_lease) {
    state->leaving = true;  // and acquire refuses
  } else if (auto renewed = renew_node_lease(state->pool, state->options); !renewed) {
    return renewed.error();
  }
  auto* raw = state.get();
  state->writer = std::thread([raw] { raw->writer_loop(); });
  if (state->options.take_lease && state->options.lease_renew_interval.count() > 0) {
    state->lease_thread = std::thread([raw] { raw->lease_loop(); });
  }
  return std::shared_ptr<pg_history_store>(new pg_history_store(std::move(state)));
}

storage::status pg_history_store::renew_lease() {
  return renew_node_lease(impl_->pool, impl_->options);
}

storage::status pg_history_store::confirm_owned(const std::string& realm_path) {
  auto realm = impl_->owned(realm_path);
  if (!realm) return not_owned(realm_path);
  return impl_->confirm_owned(realm_path, *realm);
}

storage::status pg_history_store::leave() {
  impl_->leaving = true;
  impl_->stop_lease_thread();
  try {
    auto connection = impl_->pool.borrow();
    pqxx::work tx(*connection);
    tx.exec_params("UPDATE actorsync_nodes SET expires_at = now() WHERE node = $1",
                   impl_->options.node_id);
    tx.commit();
    return storage::done{};
  } catch (const std::exception& e) {
    return database_error("ending the lease of node " + impl_->options.node_id, e);
  }
}

storage::result<std::map<std::string, std::uint64_t>> pg_history_store::epochs() const {
  try {
    auto connection = impl_->pool.borrow();
    pqxx::nontransaction tx(*connection);
    std::map<std::string, std::uint64_t> out;
    for (const auto& row : tx.exec("SELECT realm, epoch FROM actorsync_heads")) {
      out[row[0].as<std::string>()] = row[1].as<std::uint64_t>();
    }
    return out;
  } catch (const std::exception& e) {
    return database_error("reading realm epochs", e);
  }
}

storage::result<std::map<std::string, std::string>> pg_history_store::realm_owners() const {
  try {
    auto connection = impl_->pool.borrow();
    pqxx::nontransaction tx(*connection);
    std::map<std::string, std::string> out;
    for (const auto& row :
         tx.exec("SELECT realm, owner FROM actorsync_heads WHERE owner IS NOT NULL")) {
      out[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    return out;
  } catch (const std::exception& e) {
    return database_error("reading realm owners", e);
  }
}

storage::result<std::map<std::string, std::size_t>> pg_history_store::owners() const {
  try {
    auto connection = impl_->pool.borrow();
    pqxx::nontransaction tx(*connection);
    std::map<std::string, std::size_t> out;
    for (const auto& row : tx.exec("SELECT owner, count(*) FROM actorsync_heads "
                                   "WHERE owner IS NOT NULL GROUP BY owner")) {
      out[row[0].as<std::string>()] = row[1].as<std::size_t>();
    }
    return out;
  } catch (const std::exception& e) {
    return database_error("counting realm owners", e);
  }
}

storage::result<std::vector<std::string>> pg_history_store::live_nodes() const {
  try {
    auto connection = impl_->pool.borrow();
    pqxx::nontransaction tx(*connection);
    std::vector<std::string> nodes;
    for (const auto& row :
         tx.exec("SELECT node FROM actorsync_nodes WHERE expires_at > now() ORDER BY node")) {
      nodes.push_back(row[0].as<std::string>());
    }
    return nodes;
  } catch (const std::exception& e) {
    return database_error("listing live nodes", e);
  }
}

const std::string& pg_history_store::node_id() const {
  return impl_->options.node_id;
}

std::uint64_t pg_history_store::epoch(const std::string& realm_path) const {
  auto realm = impl_->owned(realm_path);
  if (!realm) return 0;
  std::lock_guard lock(realm->mutex);
  return realm->epoch;
}

void pg_history_store::allocate_client_file_ident_async(const std::string& realm_path,
                                                        allocate_callback done) {
  impl_->allocate(realm_path, std::move(done));
}

void pg_history_store::integrate_async(const std::string& realm_path,
                                       storage::file_ident_grant client,
                                       std::vector<protocol::changeset> changesets,
                                       integrate_callback done) {
  impl_->submit(realm_path, client, changesets, std::move(done));
}

storage::history_store_stats pg_history_store::stats() const {
  storage::history_store_stats out;
  out.group_writes = impl_->group_writes.load(std::memory_order_relaxed);
  out.idents_allocated = impl_->idents_allocated.load(std::memory_order_relaxed);
  out.integrations = impl_->integrations.load(std::memory_order_relaxed);
  out.realm_heads_written = impl_->realm_heads_written.load(std::memory_order_relaxed);
  out.fenced_realms = impl_->fenced_realms.load(std::memory_order_relaxed);
  out.commit_micros = impl_->commit_micros.load(std::memory_order_relaxed);
  out.reads_from_memory = impl_->reads_from_memory.load(std::memory_order_relaxed);
  std::lock_guard lock(impl_->realms_mutex);
  for (const auto& [path, realm] : impl_->realms) {
    std::lock_guard realm_lock(realm->mutex);
    out.owned_realms += realm->lost ? 0 : 1;
  }
  return out;
}

}  // namespace actorsync::cluster
