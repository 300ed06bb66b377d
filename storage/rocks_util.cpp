#include "storage/rocks_util.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include "storage/client_layout.hpp"
#include "storage/record_codec.hpp"

namespace actorsync::storage::rocks {

result<catalog_db> open_catalog_db(const std::filesystem::path& directory,
                                   const catalog_db_options& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  // File descriptors depend on the amount of data, never on the number of realms; cap them.
  db_options.max_open_files = options.max_open_files;
  db_options.keep_log_file_num = 2;
  // Damage found while reading (a block checksum, a file of the wrong size) is an error, never
  // skipped. The WAL replays up to its first damaged record: the history store has checked
  // read-only before this open that nothing acknowledged lies after it (log_watermark.hpp).
  db_options.paranoid_checks = true;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Commits read every record they change first (batch_states), mostly records that do not
  // exist yet: bloom filters, in the memtable and in the tables, answer those reads without
  // walking the skiplist or reading blocks.
  db_options.memtable_whole_key_filtering = true;
  db_options.memtable_prefix_bloom_size_ratio = 0.05;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer build only (tools/run-tsan.sh): RocksDB's group commit has one writer copy
  // the other writers' batches, handed over with atomics inside the uninstrumented librocksdb
  // that TSan cannot see; the copy runs through our instrumented std::string code, so every
  // concurrent write was reported. A 0-byte group limit makes each write its own group.
  db_options.max_write_batch_group_size_bytes = 0;
#endif

  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options, directory.string(), &raw);
  if (!s.ok()) return to_error(s, options.opening);
  catalog_db opened;
  opened.db.reset(raw);
  std::string bytes;
  s = opened.db->Get(rocksdb::ReadOptions(), client_layout::next_realm_key(), &bytes);
  if (s.ok()) {
    opened.next_realm_id = codec::get_fixed32_be(bytes);
  } else if (!s.IsNotFound()) {
    return to_error(s, "reading the realm catalog");
  }
  return opened;
}

}  // namespace actorsync::storage::rocks
