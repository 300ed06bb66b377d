#include "storage/history_store.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <actorsync/protocol/limits.hpp>
#include "protocol/codec.hpp"
#include "storage/client_layout.hpp"
#include "storage/disk_space.hpp"
#include "storage/log_watermark.hpp"
#include "storage/merge.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_util.hpp"

namespace actorsync::storage {

namespace {

using protocol::file_ident;
using protocol::version_type;

// Key layout of the server database (storage/README.md). The catalog and realm prefixes are the
// client's: 'C' path -> realm id, 'N' -> next realm id, 'R' id ... per realm.
constexpr char meta_tag = 'm';     ///< R id 'm' -> latest server version, total history bytes
constexpr char idents_tag = 'n';   ///< R id 'n' -> last allocated client file ident
constexpr char history_tag = 'h';  ///< R id 'h' sv(8 BE) -> cumulative(8 BE) changeset
constexpr char client_tag = 'c';   ///< R id 'c' ident(8 BE) -> last client version, own bytes
constexpr char own_tag = 'o';      ///< R id 'o' ident(8 BE) sv(8 BE) -> own cumulative bytes
constexpr char grant_tag = 'f';    ///< R id 'f' ident(8 BE) -> salt(8 BE)

std::string realm_key(const std::string& prefix, char tag) {
  return prefix + tag;
}

std::string realm_key(const std::string& prefix, char tag, std::uint64_t number) {
  std::string key = prefix + tag;
  codec::put_fixed64_be(key, number);
  return key;
}

std::string varints(std::initializer_list<std::uint64_t> values) {
  std::string out;
  for (auto v : values) codec::put_varint(out, v);
  return out;
}

/// What the history holds of one client file: its newest integrated client version and the
/// history bytes of its own changesets (so that downloads skipping them can say what remains).
struct client_progress {
  version_type last_client_version = 0;
  std::uint64_t own_bytes = 0;
};

std::optional<client_progress> decode_client(std::string_view bytes) {
  codec::reader in(bytes);
  client_progress out;
  if (!in.get_varint(out.last_client_version) || !in.get_varint(out.own_bytes) || !in.at_end()) {
    return std::nullopt;
  }
  return out;
}

/// One realm's in-memory view. `assigned_*` include integrations queued but not yet durable;
/// `durable_*` only what readers may see.
struct realm_state {
  std::uint32_t id = 0;
  std::string prefix;
  std::mutex mutex;
  /// False for a new realm until its catalog entry is queued, with its first ident allocation.
  bool catalog_queued = true;
  version_type assigned_version = 0;
  std::uint64_t assigned_bytes = 0;
  version_type durable_version = 0;
  std::uint64_t last_ident = 0;
  std::unordered_map<file_ident, client_progress> clients;  ///< assigned view, cached
};

/// One integration or ident allocation on its way to the writer thread.
struct pending_write {
  std::shared_ptr<realm_state> realm;
  std::optional<storage_error> refused;
  std::vector<std::pair<std::string, std::string>> puts;
  std::uint32_t new_realm_id = 0;  ///< a catalog entry is among the puts; the writer adds 'N'
  std::chrono::steady_clock::time_point queued_at;
  integration_result outcome;
  history_store::integrate_callback integrated;  ///< set for an integration
  file_ident_grant grant;
  history_store::allocate_callback allocated;  ///< set for an allocation
};

/// Runs the item's callback with its outcome, its refusal or the group's failure.
void complete(pending_write& item, const std::optional<storage_error>& failed) {
  const auto& error = item.refused ? item.refused : failed;
  if (item.integrated) {
    if (error) {
      item.integrated(*error);
    } else {
      item.integrated(item.outcome);
    }
  } else if (item.allocated) {
    if (error) {
      item.allocated(*error);
    } else {
      item.allocated(item.grant);
    }
  }
}

std::uint64_t random_salt() {
  std::uint64_t salt = 0;
  while (salt == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&salt), sizeof salt) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    salt &= 0x7fffffffffffffffULL;  // stays positive in every msgpack reader
  }
  return salt;
}

/// The embedded RocksDB store that history_store::open returns.
class rocks_history_store final : public history_store {
 public:
  struct impl;
  explicit rocks_history_store(std::unique_ptr<impl> impl);
  ~rocks_history_store() override;

  void allocate_client_file_ident_async(const std::string& realm_path,
                                        allocate_callback done) override;
  bool is_valid_client_file_ident(const std::string& realm_path,
                                  file_ident_grant grant) const override;
  void integrate_async(const std::string& realm_path, file_ident_grant client,
                       std::vector<protocol::changeset> changesets,
                       integrate_callback done) override;
  result<history_range> read(const std::string& realm_path, protocol::version_type after,
                             std::size_t max_bytes,
                             protocol::file_ident skip_origin) const override;
  protocol::version_type latest_server_version(const std::string& realm_path) const override;
  protocol::version_type last_integrated_client_version(const std::string& realm_path,
                                                        protocol::file_ident client) const override;
  history_store_stats stats() const override;
  // A damaged record is reported (corruption), not read as "never allocated" or 0.
  result<bool> try_is_valid_client_file_ident(const std::string& realm_path,
                                              file_ident_grant grant) const override;
  result<protocol::version_type> try_last_integrated_client_version(
      const std::string& realm_path, protocol::file_ident client) const override;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace

struct rocks_history_store::impl {
  std::unique_ptr<rocksdb::DB> db;
  history_options options;
  rocksdb::WriteOptions write_options;
  std::unique_ptr<disk_space_guard> space;  ///< admits writes while the disk keeps its reserve
  std::unique_ptr<acknowledged_watermark> watermark;  ///< durable sequence; writer thread only

  std::mutex realms_mutex;  ///< guards realms, next_realm_id and catalog writes
  std::unordered_map<std::string, std::shared_ptr<realm_state>> realms;
  std::uint32_t next_realm_id = 1;

  std::mutex queue_mutex;  ///< guards queue, stopping, failure
  std::condition_variable queue_changed;
  std::deque<pending_write> queue;
  bool stopping = false;
  std::optional<storage_error> failure;  ///< set once a group write failed; the store is done
  std::thread writer;

  std::uint32_t written_next_realm_id = 1;  ///< the 'N' on disk; writer thread only
  std::atomic<std::uint64_t> group_writes{0};
  std::atomic<std::uint64_t> idents_allocated{0};
  std::atomic<std::uint64_t> integrations{0};

  result<std::shared_ptr<realm_state>> find_realm(const std::string& path, bool create);
  result<std::shared_ptr<realm_state>> load_realm(std::uint32_t id);
  void enqueue(pending_write item);
  /// After a failed group write: queues `item` refused with that failure and returns true.
  bool refuse_if_failed(pending_write& item);
  /// On a disk below its reserve: queues `item` refused with storage_full and returns true.
  /// Checked before anything is assigned, so a refusal leaves nothing to undo.
  bool refuse_if_full(pending_write& item, std::uint64_t bytes);
  /// Validates, assigns server versions and queues; refusals are queued too, so that every
  /// callback runs on the writer thread in submission order.
  void submit(const std::string& path, file_ident_grant client,
              std::vector<protocol::changeset>& changesets, history_store::integrate_callback done);
  /// Assigns the realm's next ident and queues its records (and a new realm's catalog entry).
  void allocate(const std::string& path, history_store::allocate_callback done);
  void writer_loop();
  void commit_group(std::deque<pending_write>& group);
  bool grant_is_valid(realm_state& realm, file_ident_grant grant) const;
};

result<std::shared_ptr<realm_state>> rocks_history_store::impl::load_realm(std::uint32_t id) {
  auto realm = std::make_shared<realm_state>();
  realm->id = id;
  realm->prefix = client_layout::realm_prefix(id);
  std::string bytes;
  auto s = db->Get(rocksdb::ReadOptions(), realm_key(realm->prefix, meta_tag), &bytes);
  if (s.ok()) {
    codec::reader in(bytes);
    if (!in.get_varint(realm->durable_version) || !in.get_varint(realm->assigned_bytes)) {
      return storage_error{storage_errc::corruption, "history metadata does not decode"};
    }
  } else if (!s.IsNotFound()) {
    return rocks::to_error(s, "reading history metadata");
  }
  realm->assigned_version = realm->durable_version;
  s = db->Get(rocksdb::ReadOptions(), realm_key(realm->prefix, idents_tag), &bytes);
  if (s.ok()) {
    codec::reader in(bytes);
    if (!in.get_varint(realm->last_ident)) {
      return storage_error{storage_errc::corruption, "ident counter does not decode"};
    }
  } else if (!s.IsNotFound()) {
    return rocks::to_error(s, "reading the ident counter");
  }
  return realm;
}

result<std::shared_ptr<realm_state>> rocks_history_store::impl::find_realm(const std::string& path,
                                                                           bool create) {
  std::lock_guard lock(realms_mutex);
  if (auto it = realms.find(path); it != realms.end()) return it->second;
  std::string bytes;
  auto s = db->Get(rocksdb::ReadOptions(), client_layout::catalog_key(path), &bytes);
  if (s.ok()) {
    if (bytes.size() != 4) return storage_error{storage_errc::corruption, "bad catalog entry"};
    auto realm = load_realm(codec::get_fixed32_be(bytes));
    if (realm) realms.emplace(path, realm.value());
    return realm;
  }
  if (!s.IsNotFound()) return rocks::to_error(s, "reading the realm catalog");
  if (!create) return std::shared_ptr<realm_state>();
  // Nothing is written here: the catalog entry goes into the group write of the realm's first
  // ident allocation, so a realm reaches the disk with (never after) the first grant naming it.
  auto realm = std::make_shared<realm_state>();
  realm->id = next_realm_id++;
  realm->prefix = client_layout::realm_prefix(realm->id);
  realm->catalog_queued = false;
  realms.emplace(path, realm);
  return realm;
}

bool rocks_history_store::impl::grant_is_valid(realm_state& realm, file_ident_grant grant) const {
  if (grant.ident == 0) return false;
  std::string bytes;
  if (!db->Get(rocksdb::ReadOptions(), realm_key(realm.prefix, grant_tag, grant.ident), &bytes)
           .ok()) {
    return false;
  }
  return bytes.size() == 8 && codec::get_fixed64_be(bytes) == grant.salt;
}

void rocks_history_store::impl::submit(const std::string& path, file_ident_grant client,
                                       std::vector<protocol::changeset>& changesets,
                                       history_store::integrate_callback done) {
  pending_write item;
  item.integrated = std::move(done);
  auto refuse = [&](storage_errc code, std::string why) {
    item.refused = storage_error{code, std::move(why)};
    enqueue(std::move(item));
  };
  if (auto why = protocol::validate_realm_path(path); !why.empty()) {
    return refuse(storage_errc::invalid_argument, why);
  }
  auto found = find_realm(path, false);
  if (!found) return refuse(found.error().code, found.error().message);
  item.realm = found.value();
  if (!item.realm || !grant_is_valid(*item.realm, client)) {
    return refuse(storage_errc::bad_client_file_ident,
                  "client file ident was not allocated for this realm");
  }
  version_type previous = 0;
  for (const auto& cs : changesets) {
    if (auto why = merge::validate(cs); !why.empty())
      return refuse(storage_errc::bad_changeset, why);
    if (cs.client_version <= previous) {
      return refuse(storage_errc::bad_client_version, "client versions do not increase");
    }
    previous = cs.client_version;
  }

  auto& realm = *item.realm;
  std::lock_guard lock(realm.mutex);
  for (const auto& cs : changesets) {
    if (cs.last_integrated_server_version > realm.assigned_version) {
      return refuse(storage_errc::bad_progress,
                    "changeset claims a server version the realm does not have");
    }
  }
  auto [entry, inserted] = realm.clients.try_emplace(client.ident);
  auto& progress = entry->second;
  if (inserted) {
    std::string bytes;
    auto s =
        db->Get(rocksdb::ReadOptions(), realm_key(realm.prefix, client_tag, client.ident), &bytes);
    std::optional<client_progress> stored;
    if (s.ok()) stored = decode_client(bytes);
    if (s.ok() && !stored) {
      realm.clients.erase(client.ident);
      return refuse(storage_errc::corruption, "client record does not decode");
    }
    if (!s.ok() && !s.IsNotFound()) {
      realm.clients.erase(client.ident);
      auto error = rocks::to_error(s, "reading a client record");
      return refuse(error.code, error.message);
    }
    if (stored) progress = *stored;
  }
  for (auto& cs : changesets) {
    if (cs.client_version <= progress.last_client_version) continue;  // re-sent: exactly once
    cs.server_version = ++realm.assigned_version;
    cs.origin_file_ident = client.ident;
    protocol::byte_buffer encoded;
    protocol::encode_changeset(cs, encoded);
    realm.assigned_bytes += encoded.size();
    std::string value;
    codec::put_fixed64_be(value, realm.assigned_bytes);
    value.append(reinterpret_cast<const char*>(encoded.data()), encoded.size());
    item.puts.emplace_back(realm_key(realm.prefix, history_tag, cs.server_version),
                           std::move(value));
    progress.last_client_version = cs.client_version;
    progress.own_bytes += encoded.size();
    std::string own_key = realm_key(realm.prefix, own_tag, client.ident);
    codec::put_fixed64_be(own_key, cs.server_version);
    std::string own_value;
    codec::put_fixed64_be(own_value, progress.own_bytes);
    item.puts.emplace_back(std::move(own_key), std::move(own_value));
    ++item.outcome.integrated;
    item.outcome.integrated_bytes += encoded.size();
  }
  if (item.outcome.integrated > 0) {
    item.puts.emplace_back(realm_key(realm.prefix, client_tag, client.ident),
                           varints({progress.last_client_version, progress.own_bytes}));
    item.puts.emplace_back(realm_key(realm.prefix, meta_tag),
                           varints({realm.assigned_version, realm.assigned_bytes}));
  }
  item.outcome.server_version = realm.assigned_version;
  item.outcome.last_integrated_client_version = progress.last_client_version;
  enqueue(std::move(item));  // still under the realm's lock: queue order is version order
}

void rocks_history_store::impl::allocate(const std::string& path,
                                         history_store::allocate_callback done) {
  pending_write item;
  item.allocated = std::move(done);
  if (refuse_if_failed(item)) return;
  if (refuse_if_full(item, path.size() + 64)) return;
  if (auto why = protocol::validate_realm_path(path); !why.empty()) {
    item.refused = storage_error{storage_errc::invalid_argument, why};
    return enqueue(std::move(item));
  }
  auto found = find_realm(path, true);
  if (!found) {
    item.refused = found.error();
    return enqueue(std::move(item));
  }
  item.realm = found.value();
  auto& realm = *item.realm;
  const auto salt = random_salt();
  std::lock_guard lock(realm.mutex);
  if (!realm.catalog_queued) {
    std::string id_bytes;
    codec::put_fixed32_be(id_bytes, realm.id);
    item.puts.emplace_back(client_layout::catalog_key(path), std::move(id_bytes));
    item.new_realm_id = realm.id;
    realm.catalog_queued = true;
  }
  // Counted up now: an ident whose write fails is skipped, never handed out again.
  item.grant = {++realm.last_ident, salt};
  std::string salt_bytes;
  codec::put_fixed64_be(salt_bytes, salt);
  item.puts.emplace_back(realm_key(realm.prefix, idents_tag), varints({item.grant.ident}));
  item.puts.emplace_back(realm_key(realm.prefix, grant_tag, item.grant.ident),
                         std::move(salt_bytes));
  enqueue(std::move(item));  // under the realm's lock: the catalog entry is queued first
}

bool rocks_history_store::impl::refuse_if_failed(pending_write& item) {
  std::lock_guard lock(queue_mutex);
  if (!failure) return false;
  item.refused = *failure;
  item.queued_at = std::chrono::steady_clock::now();
  queue.push_back(std::move(item));
  queue_changed.notify_one();
  return true;
}

bool rocks_history_store::impl::refuse_if_full(pending_write& item, std::uint64_t bytes) {
  auto full = space->admit(bytes);
  if (!full) return false;
  item.refused = std::move(full);
  enqueue(std::move(item));
  return true;
}

void rocks_history_store::impl::enqueue(pending_write item) {
  item.queued_at = std::chrono::steady_clock::now();
  std::lock_guard lock(queue_mutex);
  queue.push_back(std::move(item));
  // Wake the writer when work appears and when a waiting group is full.
  if (queue.size() == 1 || queue.size() == options.full_group) queue_changed.notify_one();
}

void rocks_history_store::impl::writer_loop() {
  const auto window = options.group_commit_window;
  auto last_write_done = std::chrono::steady_clock::now();
  std::unique_lock lock(queue_mutex);
  for (;;) {
    queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
    if (queue.empty()) return;  // stopping and drained
    // Gather only when busy: more writes arriving within the window share this batch's fsync.
    // A write reaching a writer that has been idle for a whole window goes out at once: under
    // load the next writes queue up while this one is written, and they are gathered then.
    const bool idle = queue.front().queued_at - last_write_done >= window;
    if (!stopping && window.count() > 0 && !idle) {
      queue_changed.wait_until(lock, queue.front().queued_at + window,
                               [&] { return stopping || queue.size() >= options.full_group; });
    }
    std::deque<pending_write> group;
    group.swap(queue);
    lock.unlock();
    commit_group(group);
    last_write_done = std::chrono::steady_clock::now();
    lock.lock();
  }
}

void rocks_history_store::impl::commit_group(std::deque<pending_write>& group) {
  std::optional<storage_error> failed;
  {
    std::lock_guard lock(queue_mutex);
    failed = failure;
  }
  rocksdb::WriteBatch batch;
  bool anything = false;
  std::uint32_t newest_realm = 0;
  std::uint64_t idents = 0, integrated = 0;
  for (const auto& item : group) {
    if (item.refused) continue;
    for (const auto& [key, value] : item.puts) {
      batch.Put(key, value);
      anything = true;
    }
    newest_realm = std::max(newest_realm, item.new_realm_id);
    idents += item.allocated ? 1 : 0;
    integrated += item.integrated ? 1 : 0;
  }
  // Realm ids are assigned in one order and queued in another: 'N' only ever grows.
  const bool next_realm_grows = newest_realm >= written_next_realm_id;
  if (next_realm_grows) {
    std::string next_bytes;
    codec::put_fixed32_be(next_bytes, newest_realm + 1);
    batch.Put(client_layout::next_realm_key(), next_bytes);
  }
  if (anything && !failed) {
    auto s = db->Write(write_options, &batch);
    if (!s.ok()) {
      failed = rocks::to_error(s, "writing integrated changesets and file idents");
      std::lock_guard lock(queue_mutex);
      failure = failed;  // assigned versions are now lost; refuse everything after this
    } else {
      if (next_realm_grows) written_next_realm_id = newest_realm + 1;
      // Durable now (fsynced), and acknowledged right after: what the next start must find.
      if (options.durable) watermark->record(db->GetLatestSequenceNumber());
      group_writes.fetch_add(1, std::memory_order_relaxed);
      idents_allocated.fetch_add(idents, std::memory_order_relaxed);
      integrations.fetch_add(integrated, std::memory_order_relaxed);
    }
  }
  for (auto& item : group) {
    if (item.integrated && !item.refused && !failed) {
      std::lock_guard lock(item.realm->mutex);
      item.realm->durable_version =
          std::max(item.realm->durable_version, item.outcome.server_version);
    }
  }
  for (auto& item : group) complete(item, failed);
}

rocks_history_store::rocks_history_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}

history_store::~history_store() = default;

status history_store::acquire(const std::string&) {
  return done{};
}

void history_store::release(const std::string&) {}

rocks_history_store::~rocks_history_store() {
  {
    std::lock_guard lock(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_changed.notify_one();
  if (impl_->writer.joinable()) impl_->writer.join();
}

result<std::shared_ptr<history_store>> history_store::open(const std::filesystem::path& directory,
                                                           history_options options) {
  // Opening writes (a new MANIFEST, WAL and OPTIONS file): not on a full disk.
  if (auto full = refuse_when_full(directory, options.min_free_bytes)) return *full;
  // Read-only first: a log that lost acknowledged writes stops the start, changing nothing.
  auto log = check_log_before_open(directory);
  if (!log) return log.error();
  if (!log->tolerated.empty() && options.warn) options.warn(log->tolerated);
  auto opened = rocks::open_catalog_db(
      directory, {512, options.block_cache_bytes, "opening the history database"});
  if (!opened) return opened.error();
  auto state = std::make_unique<rocks_history_store::impl>();
  state->db = std::move(opened->db);
  state->next_realm_id = opened->next_realm_id;
  state->written_next_realm_id = opened->next_realm_id;
  state->options = options;
  state->write_options.sync = options.durable;
  state->space = std::make_unique<disk_space_guard>(directory, options.min_free_bytes);
  state->watermark = std::make_unique<acknowledged_watermark>(directory);
  auto* raw_state = state.get();
  state->writer = std::thread([raw_state] { raw_state->writer_loop(); });
  return std::shared_ptr<history_store>(new rocks_history_store(std::move(state)));
}

void rocks_history_store::allocate_client_file_ident_async(const std::string& realm_path,
                                                           allocate_callback done) {
  impl_->allocate(realm_path, std::move(done));
}

result<file_ident_grant> history_store::allocate_client_file_ident(const std::string& realm_path) {
  std::promise<result<file_ident_grant>> promise;
  auto future = promise.get_future();
  allocate_client_file_ident_async(
      realm_path, [&promise](result<file_ident_grant> r) { promise.set_value(std::move(r)); });
  return future.get();
}

history_store_stats rocks_history_store::stats() const {
  return {impl_->group_writes.load(std::memory_order_relaxed),
          impl_->idents_allocated.load(std::memory_order_relaxed),
          impl_->integrations.load(std::memory_order_relaxed)};
}

bool rocks_history_store::is_valid_client_file_ident(const std::string& realm_path,
                                                     file_ident_grant grant) const {
  auto found = impl_->find_realm(realm_path, false);
  return found && found.value() && impl_->grant_is_valid(*found.value(), grant);
}

void rocks_history_store::integrate_async(const std::string& realm_path, file_ident_grant client,
                                          std::vector<protocol::changeset> changesets,
                                          integrate_callback done) {
  pending_write refused;
  refused.integrated = std::move(done);
  if (impl_->refuse_if_failed(refused)) return;
  std::uint64_t bytes = 0;
  for (const auto& cs : changesets) bytes += protocol::encoded_size(cs);
  if (impl_->refuse_if_full(refused, bytes)) return;
  impl_->submit(realm_path, client, changesets, std::move(refused.integrated));
}

result<integration_result> history_store::integrate(const std::string& realm_path,
                                                    file_ident_grant client,
                                                    std::vector<protocol::changeset> changesets) {
  std::promise<result<integration_result>> promise;
  auto future = promise.get_future();
  integrate_async(realm_path, client, std::move(changesets),
                  [&promise](result<integration_result> r) { promise.set_value(std::move(r)); });
  return future.get();
}

namespace {

/// Bytes of `origin`'s own changesets with a server version above `cursor`, in O(log n): its
/// total minus its cumulative figure at the last own changeset at or before the cursor.
result<std::uint64_t> own_bytes_after(rocksdb::DB& db, const rocks::snapshot_guard& snapshot,
                                      const std::string& prefix, file_ident origin,
                                      version_type cursor) {
  std::string bytes;
  auto s = db.Get(snapshot.options(), realm_key(prefix, client_tag, origin), &bytes);
  if (s.IsNotFound()) return std::uint64_t{0};
  if (!s.ok()) return rocks::to_error(s, "reading a client record");
  auto client = decode_client(bytes);
  if (!client) return storage_error{storage_errc::corruption, "client record does not decode"};
  const auto own_prefix = realm_key(prefix, own_tag, origin);
  rocks::prefix_scan scan(db, own_prefix, snapshot.get());
  std::string key = own_prefix;
  codec::put_fixed64_be(key, cursor);
  scan.seek_for_prev(key);
  const std::uint64_t through_cursor = scan.valid() ? codec::get_fixed64_be(scan.value()) : 0;
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "reading own history bytes");
  if (through_cursor > client->own_bytes) {
    return storage_error{storage_errc::corruption, "own history bytes are inconsistent"};
  }
  return client->own_bytes - through_cursor;
}

}  // namespace

result<history_range> rocks_history_store::read(const std::string& realm_path,
                                                protocol::version_type after, std::size_t max_bytes,
                                                protocol::file_ident skip_origin) const {
  auto found = impl_->find_realm(realm_path, false);
  if (!found) return found.error();
  history_range range;
  if (!found.value()) {
    if (after != 0) return storage_error{storage_errc::bad_progress, "realm has no history"};
    return range;
  }
  auto& realm = *found.value();
  auto& db = *impl_->db;
  // One snapshot for every read below: the totals and the records must describe one state.
  rocks::snapshot_guard snapshot(db);
  version_type latest = 0;
  std::uint64_t total = 0;
  std::string bytes;
  auto s = db.Get(snapshot.options(), realm_key(realm.prefix, meta_tag), &bytes);
  if (s.ok()) {
    codec::reader in(bytes);
    if (!in.get_varint(latest) || !in.get_varint(total)) {
      return storage_error{storage_errc::corruption, "history metadata does not decode"};
    }
  } else if (!s.IsNotFound()) {
    return rocks::to_error(s, "reading history metadata");
  }
  if (after > latest) {
    return storage_error{storage_errc::bad_progress, "download cursor is past the history"};
  }
  range.server_version = after;
  range.remaining_bytes = 0;
  std::uint64_t cursor_cumulative = total;
  std::size_t sent_bytes = 0;
  rocks::prefix_scan scan(db, realm_key(realm.prefix, history_tag), snapshot.get());
  scan.seek(realm_key(realm.prefix, history_tag, after + 1));
  for (; scan.valid() && range.server_version < latest; scan.next()) {
    auto stored = client_layout::decode_history_value(scan.value());
    if (!stored) return storage_error{storage_errc::corruption, "history record does not decode"};
    auto decoded =
        protocol::decode_changeset({reinterpret_cast<const std::uint8_t*>(stored->changeset.data()),
                                    stored->changeset.size()});
    if (!decoded) {
      return storage_error{storage_errc::corruption,
                           "stored changeset does not decode: " + decoded.error().reason};
    }
    const bool skipped = skip_origin != 0 && decoded.message().origin_file_ident == skip_origin;
    if (!skipped && !range.changesets.empty() &&
        (sent_bytes + stored->changeset.size() > max_bytes ||
         range.changesets.size() >= protocol::limits::max_changesets_per_message)) {
      break;
    }
    range.server_version = decoded.message().server_version;
    cursor_cumulative = stored->cumulative_bytes;
    if (skipped) continue;
    sent_bytes += stored->changeset.size();
    range.changesets.push_back(std::move(decoded.message()));
  }
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "reading history");
  range.remaining_bytes = total - cursor_cumulative;
  if (skip_origin != 0) {
    // What this client will be sent excludes its own changesets after the cursor.
    auto own = own_bytes_after(db, snapshot, realm.prefix, skip_origin, range.server_version);
    if (!own) return own.error();
    range.remaining_bytes -= own.value();
  }
  return range;
}

protocol::version_type rocks_history_store::latest_server_version(
    const std::string& realm_path) const {
  auto found = impl_->find_realm(realm_path, false);
  if (!found || !found.value()) return 0;
  std::lock_guard lock(found.value()->mutex);
  return found.value()->durable_version;
}

protocol::version_type rocks_history_store::last_integrated_client_version(
    const std::string& realm_path, protocol::file_ident client) const {
  auto found = impl_->find_realm(realm_path, false);
  if (!found || !found.value()) return 0;
  std::string bytes;
  if (!impl_->db
           ->Get(rocksdb::ReadOptions(), realm_key(found.value()->prefix, client_tag, client),
                 &bytes)
           .ok()) {
    return 0;
  }
  auto progress = decode_client(bytes);
  return progress ? progress->last_client_version : 0;
}

result<bool> rocks_history_store::try_is_valid_client_file_ident(const std::string& realm_path,
                                                                 file_ident_grant grant) const {
  auto found = impl_->find_realm(realm_path, false);
  if (!found) return found.error();
  if (!found.value() || grant.ident == 0) return false;
  std::string bytes;
  auto s = impl_->db->Get(rocksdb::ReadOptions(),
                          realm_key(found.value()->prefix, grant_tag, grant.ident), &bytes);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return rocks::to_error(s, "reading a file ident grant");
  return bytes.size() == 8 && codec::get_fixed64_be(bytes) == grant.salt;
}

result<protocol::version_type> rocks_history_store::try_last_integrated_client_version(
    const std::string& realm_path, protocol::file_ident client) const {
  auto found = impl_->find_realm(realm_path, false);
  if (!found) return found.error();
  if (!found.value()) return version_type{0};
  std::string bytes;
  auto s = impl_->db->Get(rocksdb::ReadOptions(),
                          realm_key(found.value()->prefix, client_tag, client), &bytes);
  if (s.IsNotFound()) return version_type{0};
  if (!s.ok()) return rocks::to_error(s, "reading a client record");
  auto progress = decode_client(bytes);
  if (!progress) return storage_error{storage_errc::corruption, "client record does not decode"};
  return progress->last_client_version;
}

}  // namespace actorsync::storage
