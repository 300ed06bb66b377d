// Internal (storage/ only): makes a damaged write-ahead log of the history store impossible to
// miss. Two parts:
//
// - the acknowledged watermark, a 16-byte file beside the database (`actorsync-acknowledged`):
//   after every durable group write the writer records RocksDB's sequence number there. It is
//   written after the WAL's fsync, so whatever it says is on disk in the WAL (even after a
//   power loss, which can only leave it older). It is not fsynced itself: it costs one pwrite
//   per group write.
// - check_log_before_open: before the store opens read-write, the database is opened
//   read-only (nothing changes on disk) and its WAL replayed. A WAL that replays to a sequence
//   below the watermark lost acknowledged writes (truncated, a record in the middle damaged, a
//   file missing): the start is refused, naming the log and what to do. Damage after the
//   watermark is a torn tail of writes nobody was told about (the fsync before acknowledging
//   never completed): tolerated, and reported.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

/// The watermark file's name inside the data directory.
inline constexpr const char* acknowledged_watermark_file = "actorsync-acknowledged";

class acknowledged_watermark {
 public:
  /// Opens (creating) the file; an empty watermark when it cannot (then nothing is recorded).
  explicit acknowledged_watermark(const std::filesystem::path& directory);
  ~acknowledged_watermark();
  acknowledged_watermark(const acknowledged_watermark&) = delete;
  acknowledged_watermark& operator=(const acknowledged_watermark&) = delete;

  /// Records that every write up to `sequence` is durable and acknowledged. Writer thread.
  void record(std::uint64_t sequence);

  /// The sequence recorded in `directory`, 0 when none (missing, unreadable or torn file).
  static std::uint64_t read(const std::filesystem::path& directory);

 private:
  int fd_ = -1;
};

/// What the read-only look at the log found when the start may go on.
struct log_check_outcome {
  std::uint64_t recovered_sequence = 0;  ///< last sequence the WAL replays to
  std::uint64_t acknowledged_sequence = 0;
  /// Set when a damaged tail after the watermark is dropped: for the log, never silent.
  std::string tolerated;
};

/// The write-ahead log files (*.log) in `directory`, oldest first, as paths.
std::vector<std::filesystem::path> write_ahead_logs(const std::filesystem::path& directory);

/// Replays the WAL of the database in `directory` read-only and compares it with the
/// watermark. Refuses (corruption, naming the log files and what to do) when acknowledged
/// writes are missing; io_error when the database cannot be read at all. A directory without
/// a database passes.
result<log_check_outcome> check_log_before_open(const std::filesystem::path& directory);

}  // namespace actorsync::storage
