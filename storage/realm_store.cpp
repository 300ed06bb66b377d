#include <actorsync/storage/realm_store.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <actorsync/protocol/limits.hpp>
#include "protocol/codec.hpp"
#include "storage/batch_states.hpp"
#include "storage/client_layout.hpp"
#include "storage/content_hasher.hpp"
#include "storage/disk_space.hpp"
#include "storage/merge.hpp"
#include "storage/record_codec.hpp"
#include "storage/rocks_util.hpp"

namespace actorsync::storage {

namespace layout = client_layout;

// ---- database ---------------------------------------------------------------------------------

struct database::impl {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::WriteOptions write_options;
  std::unique_ptr<disk_space_guard> space;  ///< admits writes while the disk keeps its reserve
  std::mutex catalog_mutex;                 ///< guards the two fields below and catalog writes
  std::unordered_map<std::string, std::weak_ptr<realm_store>> open_realms;
  std::uint32_t next_realm_id = 1;
};

// ---- realm ------------------------------------------------------------------------------------

struct realm_store::impl {
  std::shared_ptr<database::impl> owner;
  rocksdb::DB& db;
  std::string path;
  std::string prefix;  ///< client_layout::realm_prefix of this realm

  mutable std::mutex mutex;  ///< serialises writes; guards everything below
  layout::realm_meta meta;
  /// meta holds cursors not written yet (integrate_download of a DOWNLOAD without content).
  bool meta_dirty = false;
  /// (client version, cumulative uploadable bytes) of local changesets committed since the
  /// realm was opened and not acknowledged yet: an acknowledgement finds its byte count here
  /// instead of reading the history record. Empty when everything is acknowledged.
  std::vector<std::pair<version_type, std::uint64_t>> unacknowledged_bytes;
  std::function<void(const commit_event&)> listener;
  /// The staging realm's id while a client reset is pending (client_layout::reset_key); 0: none.
  std::uint32_t reset_staging_id = 0;
  /// A staging realm after its reset finished: its records are gone and nothing is written.
  bool retired = false;

  impl(std::shared_ptr<database::impl> owner_, std::string path_, std::string prefix_,
       layout::realm_meta meta_)
      : owner(std::move(owner_)),
        db(*owner->db),
        path(std::move(path_)),
        prefix(std::move(prefix_)),
        meta(meta_) {}

  /// Writes `batch` with `next` as the realm's metadata record and makes it the current
  /// metadata (cursors kept in memory are written with it).
  status write(rocksdb::WriteBatch& batch, layout::realm_meta next, const char* doing) {
    if (retired) return storage_error{storage_errc::closed, "the client reset finished"};
    batch.Put(layout::meta_key(prefix), layout::encode_meta(next));
    // Refused before RocksDB sees it: the realm keeps its metadata, nothing is half-written.
    if (auto full = owner->space->admit(batch.GetDataSize())) return *full;
    auto s = db.Write(owner->write_options, &batch);
    if (!s.ok()) return rocks::to_error(s, doing);
    next.sync.persisted_acknowledged_client_version = next.sync.acknowledged_client_version;
    meta = next;
    meta_dirty = false;
    return done{};
  }

  result<version_type> commit(std::vector<protocol::instruction> instructions);
  status integrate(const protocol::download_message& download);
  status restamp(file_ident ident, std::uint64_t salt);
  status persist_metadata();
  status set_sync_paused(bool paused);
  result<std::uint64_t> cumulative_bytes_at(version_type client_version);
  status replay(const std::vector<changeset>& unsynced);  ///< caller holds mutex
};

namespace {

protocol::timestamp_type now_ms() {
  using namespace std::chrono;
  return static_cast<protocol::timestamp_type>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

constexpr std::size_t max_remembered_unacknowledged = 4096;

storage_error bad_changeset(const std::string& why) {
  return storage_error{storage_errc::bad_changeset, why};
}

}  // namespace

result<version_type> realm_store::impl::commit(std::vector<protocol::instruction> instructions) {
  std::function<void(const commit_event&)> notify;
  commit_event event{};
  {
    std::lock_guard lock(mutex);
    if (instructions.empty()) return meta.sync.latest_client_version;  // nothing to store
    layout::realm_meta next = meta;
    protocol::changeset cs;
    cs.client_version = meta.sync.latest_client_version + 1;
    cs.last_integrated_server_version = meta.sync.download_server_version;
    // Hybrid clock: never behind our own last commit, and after every remote write we have seen,
    // so a local write made after integrating a remote one wins over it.
    const auto after_remote = meta.last_remote_timestamp == UINT64_MAX
                                  ? meta.last_remote_timestamp
                                  : meta.last_remote_timestamp + 1;  // saturate, never wrap
    cs.origin_timestamp = std::max({now_ms(), meta.last_local_timestamp, after_remote});
    cs.instructions = std::move(instructions);
    if (auto why = merge::validate(cs); !why.empty()) return bad_changeset(why);

    batch_states states(db, prefix);
    merge::apply_changeset(cs, meta.sync.client_file_ident, states);
    if (states.failure()) return *states.failure();

    protocol::byte_buffer encoded;
    protocol::encode_changeset(cs, encoded);
    next.sync.latest_client_version = cs.client_version;
    next.sync.uploadable_bytes += encoded.size();
    next.last_local_timestamp = cs.origin_timestamp;

    rocksdb::WriteBatch batch;
    states.write_to(batch);
    batch.Put(layout::history_key(prefix, cs.client_version),
              layout::encode_history_value(
                  next.sync.uploadable_bytes,
                  std::string(reinterpret_cast<const char*>(encoded.data()), encoded.size())));
    if (auto written = write(batch, next, "committing a transaction"); !written)
      return written.error();
    // Bounded: a realm offline for long falls back to reading the history record.
    if (unacknowledged_bytes.size() < max_remembered_unacknowledged)
      unacknowledged_bytes.emplace_back(cs.client_version, next.sync.uploadable_bytes);
    notify = listener;
    event = commit_event{cs.client_version, encoded.size()};
  }
  // Outside the lock: the listener may read the store.
  if (notify) notify(event);
  return event.client_version;
}

result<std::uint64_t> realm_store::impl::cumulative_bytes_at(version_type client_version) {
  if (client_version == 0) return std::uint64_t{0};
  // Versions at or below the acknowledged one are never asked again: forget them.
  auto acked = std::upper_bound(unacknowledged_bytes.begin(), unacknowledged_bytes.end(),
                                std::pair{client_version, UINT64_MAX});
  std::optional<std::uint64_t> known;
  if (acked != unacknowledged_bytes.begin() && std::prev(acked)->first == client_version)
    known = std::prev(acked)->second;
  unacknowledged_bytes.erase(unacknowledged_bytes.begin(), acked);
  if (known) return *known;
  std::string bytes;
  auto s = db.Get(rocksdb::ReadOptions(), layout::history_key(prefix, client_version), &bytes);
  if (!s.ok()) return rocks::to_error(s, "reading a local changeset");
  auto value = layout::decode_history_value(bytes);
  if (!value) return storage_error{storage_errc::corruption, "history record does not decode"};
  return value->cumulative_bytes;
}

status realm_store::impl::integrate(const protocol::download_message& download) {
  std::lock_guard lock(mutex);
  const auto& old = meta.sync;
  if (download.server_version < old.download_server_version) {
    return storage_error{storage_errc::bad_progress, "download cursor goes backwards"};
  }
  if (download.last_integrated_client_version > old.latest_client_version) {
    return storage_error{storage_errc::bad_progress,
                         "server acknowledges a client version never committed"};
  }
  for (const auto& cs : download.changesets) {
    if (auto why = merge::validate(cs); !why.empty()) return bad_changeset(why);
    if (cs.origin_file_ident == 0) return bad_changeset("downloaded changeset has no origin");
  }

  layout::realm_meta next = meta;
  batch_states states(db, prefix);
  rocksdb::WriteBatch batch;
  // Newest integrated client version per origin, as read or changed in this message.
  std::map<file_ident, version_type> last_by_origin;
  bool content_changed = false;
  for (const auto& cs : download.changesets) {
    // A changeset at or below the download cursor was received before (a re-send after a
    // lost binding): its bytes were counted then.
    if (cs.server_version > old.download_server_version)
      next.sync.downloaded_bytes += protocol::encoded_size(cs);
    const auto origin = cs.origin_file_ident;
    if (origin == old.client_file_ident) continue;  // our own, applied when committed
    auto [it, inserted] = last_by_origin.try_emplace(origin, 0);
    if (inserted) {
      std::string bytes;
      auto s = db.Get(rocksdb::ReadOptions(), layout::origin_key(prefix, origin), &bytes);
      if (s.ok()) {
        codec::reader in(bytes);
        if (!in.get_varint(it->second)) {
          return storage_error{storage_errc::corruption, "origin record does not decode"};
        }
      } else if (!s.IsNotFound()) {
        return rocks::to_error(s, "reading an origin record");
      }
    }
    if (cs.client_version <= it->second) continue;  // integrated before: exactly once
    content_changed = true;
    merge::apply_changeset(cs, origin, states);
    it->second = cs.client_version;
    next.last_remote_timestamp = std::max(next.last_remote_timestamp, cs.origin_timestamp);
  }
  if (states.failure()) return *states.failure();

  next.sync.download_server_version = download.server_version;
  next.sync.last_integrated_server_version = download.server_version;
  next.sync.download_last_integrated_client_version = download.last_integrated_client_version;
  next.sync.acknowledged_client_version =
      std::max(old.acknowledged_client_version, download.last_integrated_client_version);
  next.sync.downloadable_bytes = download.downloadable_bytes;
  if (next.sync.acknowledged_client_version != old.acknowledged_client_version) {
    auto uploaded = cumulative_bytes_at(next.sync.acknowledged_client_version);
    if (!uploaded) return uploaded.error();
    next.sync.uploaded_bytes = uploaded.value();
  }

  if (!content_changed) {  // cursors only: kept in memory, written later (see the header)
    meta = next;
    meta_dirty = true;
    return done{};
  }
  states.write_to(batch);
  for (const auto& [origin, version] : last_by_origin) {
    std::string bytes;
    codec::put_varint(bytes, version);
    batch.Put(layout::origin_key(prefix, origin), bytes);
  }
  return write(batch, next, "integrating a download");
}

status realm_store::impl::persist_metadata() {
  std::lock_guard lock(mutex);
  if (!meta_dirty || retired) return done{};
  rocksdb::WriteBatch batch;
  return write(batch, meta, "storing acknowledged cursors");
}

status realm_store::impl::set_sync_paused(bool paused) {
  std::lock_guard lock(mutex);
  if (meta.sync.sync_paused == paused) return done{};
  auto next = meta;
  next.sync.sync_paused = paused;
  rocksdb::WriteBatch batch;
  return write(batch, next, paused ? "recording a pause" : "recording a resume");
}

namespace {

void restamp_stamp(merge::stamp& s, file_ident ident, bool& changed) {
  if (s.origin != 0 || s.client_version == 0) return;  // not ours, or no_stamp
  s.origin = ident;
  changed = true;
}

}  // namespace

status realm_store::impl::restamp(file_ident ident, std::uint64_t salt) {
  if (ident == 0) return storage_error{storage_errc::invalid_argument, "client file ident is 0"};
  std::lock_guard lock(mutex);
  if (meta.sync.client_file_ident != 0) {
    if (meta.sync.client_file_ident == ident && meta.sync.file_ident_salt == salt) return done{};
    return storage_error{storage_errc::invalid_argument,
                         "the realm already has a different client file ident"};
  }
  rocksdb::WriteBatch batch;
  rocks::prefix_scan scan(db, layout::content_prefix(prefix));
  for (; scan.valid(); scan.next()) {
    auto key = layout::parse_content_key(scan.key_rest());
    if (!key) return storage_error{storage_errc::corruption, "content key does not parse"};
    bool changed = false;
    std::string encoded;
    if (key->field) {
      auto field = codec::decode_field(scan.value());
      if (!field) return storage_error{storage_errc::corruption, "field record does not decode"};
      if (field->has_set) restamp_stamp(field->set_at, ident, changed);
      for (auto& add : field->adds) restamp_stamp(add.at, ident, changed);
      if (changed) encoded = codec::encode_field(*field);
    } else {
      auto object = codec::decode_object(scan.value());
      if (!object) return storage_error{storage_errc::corruption, "object record does not decode"};
      restamp_stamp(object->created, ident, changed);
      restamp_stamp(object->erased, ident, changed);
      if (changed) encoded = codec::encode_object(*object);
    }
    if (changed) batch.Put(std::string(scan.key()), encoded);
  }
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "scanning content to restamp");
  layout::realm_meta next = meta;
  next.sync.client_file_ident = ident;
  next.sync.file_ident_salt = salt;
  return write(batch, next, "recording the client file ident");
}

realm_store::realm_store(std::unique_ptr<impl> impl) : impl_(std::move(impl)) {}
realm_store::~realm_store() {
  // Best effort: a failure here is what a crash would leave (older cursors, see the header).
  (void)impl_->persist_metadata();
  // Forget the closed realm, so a database that opens and closes realms for months does not
  // grow (a reopen that already replaced the entry leaves it alone).
  auto& owner = *impl_->owner;
  std::lock_guard lock(owner.catalog_mutex);
  if (auto it = owner.open_realms.find(impl_->path);
      it != owner.open_realms.end() && it->second.expired())
    owner.open_realms.erase(it);
}

const std::string& realm_store::path() const {
  return impl_->path;
}

namespace {

/// Reads an object record; a missing one is an object never created (not visible).
merge::object_state read_object(rocksdb::DB& db, const rocksdb::ReadOptions& options,
                                const std::string& key) {
  std::string bytes;
  if (!db.Get(options, key, &bytes).ok()) return {};
  return codec::decode_object(bytes).value_or(merge::object_state{});
}

/// Walks the content under `prefix_key` (a content, collection or object prefix) in key order,
/// calling `object` for each visible object and `field` for each of its visible fields.
template <class OnObject, class OnField>
void walk_visible(rocksdb::DB& db, const std::string& content_prefix, const std::string& start,
                  OnObject&& on_object, OnField&& on_field) {
  rocks::prefix_scan scan(db, start);
  std::string current_collection;
  std::string current_object;
  merge::object_state state;
  bool have_current = false;
  for (; scan.valid(); scan.next()) {
    auto key = layout::parse_content_key(scan.key().substr(content_prefix.size()));
    if (!key) continue;  // unparsable keys are skipped by readers; restamp reports them
    if (!have_current || key->collection != current_collection ||
        key->object_id != current_object) {
      have_current = true;
      current_collection = key->collection;
      current_object = key->object_id;
      state = merge::object_state{};
      if (!key->field) state = codec::decode_object(scan.value()).value_or(merge::object_state{});
      if (state.visible()) on_object(current_collection, current_object);
      if (!key->field) continue;
    }
    if (!key->field || !state.visible()) continue;
    auto field = codec::decode_field(scan.value());
    if (!field) continue;
    if (auto value = merge::visible_value(*field, state)) on_field(*key->field, *value);
  }
}

}  // namespace

std::optional<value> realm_store::get_field(const std::string& collection,
                                            const std::string& object_id,
                                            const std::string& field) const {
  auto& db = impl_->db;
  const rocksdb::Snapshot* snapshot = db.GetSnapshot();
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  std::optional<value> out;
  auto object = read_object(db, options, layout::object_key(impl_->prefix, collection, object_id));
  if (object.visible()) {
    std::string bytes;
    if (db.Get(options, layout::field_key(impl_->prefix, collection, object_id, field), &bytes)
            .ok()) {
      if (auto state = codec::decode_field(bytes)) out = merge::visible_value(*state, object);
    }
  }
  db.ReleaseSnapshot(snapshot);
  return out;
}

bool realm_store::object_exists(const std::string& collection, const std::string& object_id) const {
  return read_object(impl_->db, rocksdb::ReadOptions(),
                     layout::object_key(impl_->prefix, collection, object_id))
      .visible();
}

void realm_store::for_each_object(
    const std::string& collection,
    const std::function<void(const std::string& object_id,
                             const std::vector<std::pair<std::string, value>>& fields)>& visit)
    const {
  std::string pending_object;
  std::vector<std::pair<std::string, value>> fields;
  bool pending = false;
  auto flush = [&] {
    if (pending) visit(pending_object, fields);
    pending = false;
    fields.clear();
  };
  walk_visible(
      impl_->db, layout::content_prefix(impl_->prefix),
      layout::collection_prefix(impl_->prefix, collection),
      [&](const std::string&, const std::string& object_id) {
        flush();
        pending = true;
        pending_object = object_id;
      },
      [&](const std::string& name, const value& v) { fields.emplace_back(name, v); });
  flush();
}

std::string realm_store::content_digest() const {
  content_hasher hasher;
  walk_visible(
      impl_->db, layout::content_prefix(impl_->prefix), layout::content_prefix(impl_->prefix),
      [&](const std::string& collection, const std::string& object_id) {
        hasher.add_object(collection, object_id);
      },
      [&](const std::string& name, const value& v) { hasher.add_field(name, v); });
  return hasher.finish_hex();
}

write_transaction realm_store::begin_write() {
  return write_transaction(this);
}

void realm_store::set_commit_listener(std::function<void(const commit_event&)> listener) {
  std::lock_guard lock(impl_->mutex);
  impl_->listener = std::move(listener);
}

sync_metadata realm_store::metadata() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->meta.sync;
}

result<std::vector<changeset>> realm_store::local_changesets_after(version_type after,
                                                                   std::size_t max_bytes) const {
  std::vector<changeset> out;
  std::size_t bytes = 0;
  rocks::prefix_scan scan(impl_->db, layout::history_prefix(impl_->prefix));
  scan.seek(layout::history_key(impl_->prefix, after + 1));
  for (; scan.valid(); scan.next()) {
    auto value = layout::decode_history_value(scan.value());
    if (!value) return storage_error{storage_errc::corruption, "history record does not decode"};
    if (!out.empty() && bytes + value->changeset.size() > max_bytes) break;
    auto decoded = protocol::decode_changeset(
        {reinterpret_cast<const std::uint8_t*>(value->changeset.data()), value->changeset.size()});
    if (!decoded) {
      return storage_error{storage_errc::corruption,
                           "stored changeset does not decode: " + decoded.error().reason};
    }
    bytes += value->changeset.size();
    out.push_back(std::move(decoded.message()));
    if (out.size() >= protocol::limits::max_changesets_per_message) break;
  }
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "reading local history");
  return out;
}

status realm_store::set_client_file_ident(file_ident ident, std::uint64_t salt) {
  return impl_->restamp(ident, salt);
}

status realm_store::integrate_download(const protocol::download_message& download) {
  return impl_->integrate(download);
}

status realm_store::persist_metadata() {
  return impl_->persist_metadata();
}

status realm_store::set_sync_paused(bool paused) {
  return impl_->set_sync_paused(paused);
}

// ---- client reset -----------------------------------------------------------------------------

bool realm_store::reset_pending() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->reset_staging_id != 0;
}

result<std::shared_ptr<realm_store>> realm_store::begin_reset() {
  auto& owner = *impl_->owner;
  // Lock order: the catalog (realm ids), then the realm.
  std::lock_guard catalog(owner.catalog_mutex);
  std::lock_guard lock(impl_->mutex);
  rocksdb::WriteBatch batch;
  auto staging_id = impl_->reset_staging_id;
  if (staging_id == 0) {  // else begun before: its id is reused, its records dropped below
    staging_id = owner.next_realm_id;
    std::string next_bytes;
    codec::put_fixed32_be(next_bytes, staging_id + 1);
    batch.Put(layout::next_realm_key(), next_bytes);
  }
  const auto staging_prefix = layout::realm_prefix(staging_id);
  batch.DeleteRange(staging_prefix, rocks::prefix_end(staging_prefix));
  std::string id_bytes;
  codec::put_fixed32_be(id_bytes, staging_id);
  batch.Put(layout::reset_key(impl_->prefix), id_bytes);
  if (auto full = owner.space->admit(batch.GetDataSize())) return *full;
  auto s = impl_->db.Write(owner.write_options, &batch);
  if (!s.ok()) return rocks::to_error(s, "beginning a client reset");
  if (staging_id == owner.next_realm_id) owner.next_realm_id = staging_id + 1;
  impl_->reset_staging_id = staging_id;
  // Not in open_realms: only the session that resets this realm reaches it.
  return std::shared_ptr<realm_store>(new realm_store(
      std::make_unique<impl>(impl_->owner, impl_->path, staging_prefix, layout::realm_meta{})));
}

namespace {

/// The local changesets after `after` (those the server never acknowledged), oldest first.
result<std::vector<changeset>> unacknowledged_changesets(rocksdb::DB& db, const std::string& prefix,
                                                         version_type after) {
  std::vector<changeset> out;
  rocks::prefix_scan scan(db, layout::history_prefix(prefix));
  scan.seek(layout::history_key(prefix, after + 1));
  for (; scan.valid(); scan.next()) {
    auto value = layout::decode_history_value(scan.value());
    if (!value) return storage_error{storage_errc::corruption, "history record does not decode"};
    auto decoded = protocol::decode_changeset(
        {reinterpret_cast<const std::uint8_t*>(value->changeset.data()), value->changeset.size()});
    if (!decoded) {
      return storage_error{storage_errc::corruption,
                           "stored changeset does not decode: " + decoded.error().reason};
    }
    out.push_back(std::move(decoded.message()));
  }
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "reading local history");
  return out;
}

}  // namespace

// Replays `unsynced` onto the staging realm as its local changesets 1..n, in one batch;
// nothing is written when one of them does not apply.
status realm_store::impl::replay(const std::vector<changeset>& unsynced) {
  if (meta.sync.client_file_ident == 0)
    return storage_error{storage_errc::invalid_argument, "the staging realm has no file ident"};
  layout::realm_meta next = meta;
  batch_states states(db, prefix);
  rocksdb::WriteBatch batch;
  std::vector<std::pair<version_type, std::uint64_t>> bytes_at;
  for (const auto& old : unsynced) {
    protocol::changeset cs;
    cs.client_version = next.sync.latest_client_version + 1;
    cs.last_integrated_server_version = next.sync.download_server_version;
    cs.origin_timestamp = old.origin_timestamp;  // as if it had been uploaded before the reset
    cs.instructions = old.instructions;
    if (auto why = merge::validate(cs); !why.empty()) return bad_changeset(why);
    merge::apply_changeset(cs, meta.sync.client_file_ident, states);
    if (states.failure()) return *states.failure();
    protocol::byte_buffer encoded;
    protocol::encode_changeset(cs, encoded);
    next.sync.latest_client_version = cs.client_version;
    next.sync.uploadable_bytes += encoded.size();
    next.last_local_timestamp = std::max(next.last_local_timestamp, cs.origin_timestamp);
    batch.Put(layout::history_key(prefix, cs.client_version),
              layout::encode_history_value(
                  next.sync.uploadable_bytes,
                  std::string(reinterpret_cast<const char*>(encoded.data()), encoded.size())));
    bytes_at.emplace_back(cs.client_version, next.sync.uploadable_bytes);
  }
  states.write_to(batch);
  if (auto written = write(batch, next, "replaying unsynced changes"); !written) return written;
  unacknowledged_bytes = std::move(bytes_at);
  return done{};
}

result<reset_outcome> realm_store::finish_reset(realm_store& staging, bool recover) {
  auto& main = *impl_;
  auto& copy = *staging.impl_;
  std::scoped_lock lock(main.mutex, copy.mutex);
  if (main.reset_staging_id == 0 || copy.prefix != layout::realm_prefix(main.reset_staging_id)) {
    return storage_error{storage_errc::invalid_argument,
                         "no client reset of this realm is pending"};
  }
  auto unsynced =
      unacknowledged_changesets(main.db, main.prefix, main.meta.sync.acknowledged_client_version);
  if (!unsynced) return unsynced.error();
  reset_outcome outcome;
  if (recover) {
    if (auto replayed = copy.replay(unsynced.value()); !replayed) return replayed.error();
    outcome.recovered = unsynced.value().size();
  } else {
    outcome.discarded = unsynced.value().size();
  }
  // One batch: everything of this realm (the reset record too) gives way to the staging
  // realm's records under this realm's prefix; the staging records go.
  rocksdb::WriteBatch batch;
  batch.DeleteRange(main.prefix, rocks::prefix_end(main.prefix));
  const auto staging_meta = layout::meta_key(copy.prefix);
  rocks::prefix_scan scan(main.db, copy.prefix);
  for (; scan.valid(); scan.next()) {
    if (scan.key() == staging_meta) continue;  // written below as this realm's
    batch.Put(main.prefix + std::string(scan.key().substr(copy.prefix.size())), scan.value());
  }
  if (!scan.status().ok()) return rocks::to_error(scan.status(), "reading the server's copy");
  batch.DeleteRange(copy.prefix, rocks::prefix_end(copy.prefix));
  auto next = copy.meta;
  next.sync.sync_paused = main.meta.sync.sync_paused;
  if (auto written = main.write(batch, next, "finishing a client reset"); !written)
    return written.error();
  main.unacknowledged_bytes = std::move(copy.unacknowledged_bytes);
  main.reset_staging_id = 0;
  copy.retired = true;
  return outcome;
}

// ---- write_transaction ------------------------------------------------------------------------

write_transaction::write_transaction(realm_store* store) : store_(store) {}
write_transaction::write_transaction(write_transaction&&) noexcept = default;
write_transaction& write_transaction::operator=(write_transaction&&) noexcept = default;
write_transaction::~write_transaction() = default;

write_transaction& write_transaction::create_object(std::string collection, std::string object_id) {
  instructions_.emplace_back(protocol::create_object{std::move(collection), std::move(object_id)});
  return *this;
}

write_transaction& write_transaction::erase_object(std::string collection, std::string object_id) {
  instructions_.emplace_back(protocol::erase_object{std::move(collection), std::move(object_id)});
  return *this;
}

write_transaction& write_transaction::set_field(std::string collection, std::string object_id,
                                                std::string field, value new_value) {
  instructions_.emplace_back(protocol::set_field{std::move(collection), std::move(object_id),
                                                 std::move(field), std::move(new_value)});
  return *this;
}

write_transaction& write_transaction::add_integer(std::string collection, std::string object_id,
                                                  std::string field, std::int64_t delta) {
  instructions_.emplace_back(
      protocol::add_integer{std::move(collection), std::move(object_id), std::move(field), delta});
  return *this;
}

result<version_type> write_transaction::commit() {
  return store_->impl_->commit(std::exchange(instructions_, {}));
}

// ---- database ---------------------------------------------------------------------------------

database::database(std::shared_ptr<impl> impl) : impl_(std::move(impl)) {}
database::~database() = default;

result<std::shared_ptr<database>> database::open(const std::filesystem::path& directory,
                                                 database_options options) {
  // Opening writes (a new MANIFEST, WAL and OPTIONS file): not on a full disk.
  if (auto full = refuse_when_full(directory, options.min_free_bytes)) return *full;
  auto opened = rocks::open_catalog_db(
      directory, {256, options.block_cache_bytes, "opening the client database"});
  if (!opened) return opened.error();
  auto state = std::make_shared<impl>();
  state->db = std::move(opened->db);
  state->next_realm_id = opened->next_realm_id;
  state->write_options.sync = options.commit_durability == durability::full;
  state->space = std::make_unique<disk_space_guard>(directory, options.min_free_bytes);
  return std::shared_ptr<database>(new database(std::move(state)));
}

result<std::shared_ptr<realm_store>> database::open_realm(const std::string& realm_path) {
  if (auto why = protocol::validate_realm_path(realm_path); !why.empty()) {
    return storage_error{storage_errc::invalid_argument, why};
  }
  auto& state = *impl_;
  std::lock_guard lock(state.catalog_mutex);
  if (auto it = state.open_realms.find(realm_path); it != state.open_realms.end()) {
    if (auto store = it->second.lock()) return store;
  }
  std::string bytes;
  auto s = state.db->Get(rocksdb::ReadOptions(), layout::catalog_key(realm_path), &bytes);
  std::uint32_t realm_id = 0;
  layout::realm_meta meta;
  if (s.ok() && bytes.size() == 4) {
    realm_id = codec::get_fixed32_be(bytes);
    std::string meta_bytes;
    auto m = state.db->Get(rocksdb::ReadOptions(), layout::meta_key(layout::realm_prefix(realm_id)),
                           &meta_bytes);
    if (m.ok()) {
      auto decoded = layout::decode_meta(meta_bytes);
      if (!decoded)
        return storage_error{storage_errc::corruption, "realm metadata does not decode"};
      meta = *decoded;
      meta.sync.persisted_acknowledged_client_version = meta.sync.acknowledged_client_version;
    } else if (!m.IsNotFound()) {
      return rocks::to_error(m, "reading realm metadata");
    }
  } else if (s.ok()) {
    return storage_error{storage_errc::corruption, "catalog entry does not decode"};
  } else if (s.IsNotFound()) {
    realm_id = state.next_realm_id;
    std::string id_bytes;
    codec::put_fixed32_be(id_bytes, realm_id);
    std::string next_bytes;
    codec::put_fixed32_be(next_bytes, realm_id + 1);
    rocksdb::WriteBatch batch;
    batch.Put(layout::catalog_key(realm_path), id_bytes);
    batch.Put(layout::next_realm_key(), next_bytes);
    if (auto full = state.space->admit(batch.GetDataSize())) return *full;
    s = state.db->Write(state.write_options, &batch);
    if (!s.ok()) return rocks::to_error(s, "adding a realm to the catalog");
    state.next_realm_id = realm_id + 1;
  } else {
    return rocks::to_error(s, "reading the realm catalog");
  }
  std::string staging_id;
  auto r = state.db->Get(rocksdb::ReadOptions(), layout::reset_key(layout::realm_prefix(realm_id)),
                         &staging_id);
  if (!r.ok() && !r.IsNotFound()) return rocks::to_error(r, "reading the realm's reset record");
  if (r.ok() && staging_id.size() != 4)
    return storage_error{storage_errc::corruption, "reset record does not decode"};
  auto store = std::shared_ptr<realm_store>(new realm_store(std::make_unique<realm_store::impl>(
      impl_, realm_path, layout::realm_prefix(realm_id), meta)));
  if (r.ok()) store->impl_->reset_staging_id = codec::get_fixed32_be(staging_id);
  state.open_realms[realm_path] = store;
  return store;
}

std::string_view to_string(durability level) {
  switch (level) {
    case durability::full:
      return "full";
    case durability::process_crash:
      return "process_crash";
  }
  return "unknown";
}

}  // namespace actorsync::storage
