// Offline check of a server data directory (`actorsync-server --verify`): everything the
// server relies on, read without changing a byte. Run it on a stopped server.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

struct history_verification {
  std::uint64_t realms = 0;      ///< realms in the catalog
  std::uint64_t changesets = 0;  ///< history records read and decoded
  /// What is damaged, one line each, naming the file or realm; empty when nothing is.
  std::vector<std::string> damage;
  /// Found and tolerated, worth knowing (a torn tail of unacknowledged writes).
  std::vector<std::string> notes;
};

/// Checks, read-only: the write-ahead log against the acknowledged watermark
/// (log_watermark.hpp), every block checksum of every table file, and every realm's history
/// (versions 1..latest present, each record decodes, byte totals agree). An error only when
/// the directory cannot be checked at all (no database in it, unreadable).
result<history_verification> verify_history_directory(const std::filesystem::path& directory);

}  // namespace actorsync::storage
