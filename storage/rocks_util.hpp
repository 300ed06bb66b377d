// Internal (includes RocksDB; only .cpp files of storage/ include it): status conversion and
// key-range helpers shared by the realm store and the history store.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <actorsync/storage/errors.hpp>

namespace actorsync::storage::rocks {

/// A storage_error for a failed RocksDB status, saying what was being done.
inline storage_error to_error(const rocksdb::Status& s, const char* doing) {
  const auto code = s.IsCorruption() ? storage_errc::corruption : storage_errc::io_error;
  return storage_error{code, std::string(doing) + ": " + s.ToString()};
}

/// A database holding realms by key prefix, and the id its catalog hands out next.
struct catalog_db {
  std::unique_ptr<rocksdb::DB> db;
  std::uint32_t next_realm_id = 1;
};

struct catalog_db_options {
  int max_open_files = 256;
  std::size_t block_cache_bytes = 8 << 20;
  const char* opening = "opening the database";  ///< error context
};

/// Opens (creating if missing) the database both stores use, and reads its realm catalog counter.
result<catalog_db> open_catalog_db(const std::filesystem::path& directory,
                                   const catalog_db_options& options);

/// The smallest key greater than every key starting with `prefix` (empty: no bound).
inline std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

/// An iterator confined to the keys that start with `prefix`, positioned at the first one.
/// Iterators read an implicit snapshot, so one scan sees one consistent state.
/// A RocksDB snapshot released at scope exit: several reads that must agree with each other.
class snapshot_guard {
 public:
  explicit snapshot_guard(rocksdb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) {}
  ~snapshot_guard() { db_.ReleaseSnapshot(snapshot_); }
  snapshot_guard(const snapshot_guard&) = delete;
  snapshot_guard& operator=(const snapshot_guard&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }
  rocksdb::ReadOptions options() const {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    return options;
  }

 private:
  rocksdb::DB& db_;
  const rocksdb::Snapshot* snapshot_;
};

class prefix_scan {
 public:
  prefix_scan(rocksdb::DB& db, std::string prefix, const rocksdb::Snapshot* snapshot = nullptr)
      : prefix_(std::move(prefix)),
        bound_(prefix_end(prefix_)),
        bound_slice_(bound_),
        lower_slice_(prefix_) {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot;
    if (!bound_.empty()) options.iterate_upper_bound = &bound_slice_;
    options.iterate_lower_bound = &lower_slice_;
    iterator_.reset(db.NewIterator(options));
    iterator_->Seek(prefix_);
  }
  /// Seeks to `key` (which must start with the prefix).
  void seek(const std::string& key) { iterator_->Seek(key); }
  /// Positions at the last key <= `key` within the prefix.
  void seek_for_prev(const std::string& key) { iterator_->SeekForPrev(key); }
  bool valid() const { return iterator_->Valid(); }
  void next() { iterator_->Next(); }
  std::string_view key() const {
    auto key = iterator_->key();
    return {key.data(), key.size()};
  }
  /// The key without the prefix.
  std::string_view key_rest() const {
    auto key = iterator_->key();
    return std::string_view(key.data(), key.size()).substr(prefix_.size());
  }
  std::string_view value() const {
    auto v = iterator_->value();
    return {v.data(), v.size()};
  }
  rocksdb::Status status() const { return iterator_->status(); }

 private:
  std::string prefix_;
  std::string bound_;
  rocksdb::Slice bound_slice_;
  rocksdb::Slice lower_slice_;
  std::unique_ptr<rocksdb::Iterator> iterator_;
};

}  // namespace actorsync::storage::rocks
