// Internal (storage/ only): the free-space reserve that keeps RocksDB away from a full disk.
//
// Why a reserve and not RocksDB's own no-space handling: Debian's librocksdb 7.8 is built with
// assertions, and the first WAL or table write that fails with ENOSPC aborts the process
// (`sync_without_flush_called_` in WritableFileWriter). So the stores never let RocksDB reach a
// full disk: every write is admitted only while the data directory's filesystem has more than
// `min_free_bytes` available, and a refused write changes nothing (it never reaches RocksDB).
// The reserve also has to hold what RocksDB writes on its own: a memtable flush (up to two
// 64 MiB write buffers) and the compactions behind it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>

#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

/// Bytes available to this process on the filesystem holding `path`; nothing when statvfs
/// fails (the caller then admits the write: an unknown figure must not stop a store).
std::optional<std::uint64_t> available_bytes(const std::filesystem::path& path);

/// storage_full, naming the directory and the figures, when `path` has less than
/// `min_free_bytes` available; nothing otherwise.
std::optional<storage_error> refuse_when_full(const std::filesystem::path& path,
                                              std::uint64_t min_free_bytes);

/// Admits writes while the filesystem keeps its reserve. Thread-safe. Asks the kernel again
/// once `recheck_bytes` were admitted or `recheck_interval` passed since it last asked (and on
/// every write while full, so writes resume as soon as space returns); in between, the reserve
/// absorbs what was admitted.
class disk_space_guard {
 public:
  static constexpr std::uint64_t recheck_bytes = 1 << 20;
  static constexpr std::chrono::milliseconds recheck_interval{50};

  disk_space_guard(std::filesystem::path directory, std::uint64_t min_free_bytes);

  /// Nothing when a write of `bytes` may go to RocksDB; storage_full otherwise.
  std::optional<storage_error> admit(std::uint64_t bytes);
  /// Whether the last check found the disk full.
  bool full() const;

 private:
  std::filesystem::path directory_;
  std::uint64_t min_free_bytes_;
  mutable std::mutex mutex_;
  bool full_ = false;
  std::uint64_t admitted_since_check_ = 0;
  std::chrono::steady_clock::time_point checked_at_{};
  std::optional<storage_error> refusal_;
};

}  // namespace actorsync::storage
