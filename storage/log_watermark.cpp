#include "storage/log_watermark.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "storage/record_codec.hpp"
#include "storage/rocks_util.hpp"

namespace actorsync::storage {

namespace {

constexpr std::size_t watermark_bytes = 16;  ///< sequence (8 BE), then its complement (8 BE)

std::string encode_watermark(std::uint64_t sequence) {
  std::string bytes;
  codec::put_fixed64_be(bytes, sequence);
  codec::put_fixed64_be(bytes, ~sequence);
  return bytes;
}

/// The database's sequence after replaying its WAL in `mode`, read-only: nothing is written.
result<std::uint64_t> replayed_sequence(const std::filesystem::path& directory,
                                        rocksdb::WALRecoveryMode mode) {
  rocksdb::Options options;
  options.wal_recovery_mode = mode;
  options.paranoid_checks = true;
  options.max_open_files = 64;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(options, directory.string(), &raw);
  if (!s.ok()) return rocks::to_error(s, "replaying the write-ahead log read-only");
  std::unique_ptr<rocksdb::DB> db(raw);
  return static_cast<std::uint64_t>(db->GetLatestSequenceNumber());
}

std::string names(const std::vector<std::filesystem::path>& files) {
  if (files.empty()) return "(no *.log file is left)";
  std::string out;
  for (const auto& f : files) out += (out.empty() ? "" : ", ") + f.string();
  return out;
}

}  // namespace

acknowledged_watermark::acknowledged_watermark(const std::filesystem::path& directory) {
  fd_ = ::open((directory / acknowledged_watermark_file).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC,
               0600);
}

acknowledged_watermark::~acknowledged_watermark() {
  if (fd_ >= 0) ::close(fd_);
}

void acknowledged_watermark::record(std::uint64_t sequence) {
  if (fd_ < 0) return;
  const auto bytes = encode_watermark(sequence);
  // A failed write leaves an older figure: the check then covers less, never raises an alarm.
  [[maybe_unused]] auto written = ::pwrite(fd_, bytes.data(), bytes.size(), 0);
}

std::uint64_t acknowledged_watermark::read(const std::filesystem::path& directory) {
  const int fd = ::open((directory / acknowledged_watermark_file).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char bytes[watermark_bytes];
  const auto n = ::pread(fd, bytes, sizeof bytes, 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(watermark_bytes)) return 0;
  const std::string_view view(bytes, sizeof bytes);
  const auto sequence = codec::get_fixed64_be(view.substr(0, 8));
  return codec::get_fixed64_be(view.substr(8)) == ~sequence ? sequence : 0;
}

std::vector<std::filesystem::path> write_ahead_logs(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> logs;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ignored)) {
    if (entry.path().extension() == ".log") logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

result<log_check_outcome> check_log_before_open(const std::filesystem::path& directory) {
  log_check_outcome outcome;
  std::error_code ignored;
  if (!std::filesystem::exists(directory / "CURRENT", ignored)) return outcome;  // a new store
  outcome.acknowledged_sequence = acknowledged_watermark::read(directory);
  const auto logs = write_ahead_logs(directory);
  const auto restore =
      " Nothing was changed. Restore the data directory from a backup (clients whose "
      "acknowledged writes are missing would otherwise be told client_reset_required); or, to "
      "start with what the log still holds and lose those writes, remove " +
      (directory / acknowledged_watermark_file).string() + " and start again.";

  // Strict first: any damage but an incomplete last record fails this replay.
  auto strict =
      replayed_sequence(directory, rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords);
  std::string damage;
  if (strict) {
    outcome.recovered_sequence = strict.value();
  } else if (strict.error().code == storage_errc::corruption) {
    // Damaged somewhere: replay up to the damage and see whether acknowledged writes lie after.
    damage = strict.error().message;
    auto up_to_damage =
        replayed_sequence(directory, rocksdb::WALRecoveryMode::kPointInTimeRecovery);
    if (!up_to_damage) return up_to_damage.error();
    outcome.recovered_sequence = up_to_damage.value();
  } else {
    return strict.error();
  }
  if (outcome.recovered_sequence < outcome.acknowledged_sequence) {
    return storage_error{
        storage_errc::corruption,
        "the write-ahead log " + names(logs) + " is damaged: it replays to sequence " +
            std::to_string(outcome.recovered_sequence) + " but writes up to sequence " +
            std::to_string(outcome.acknowledged_sequence) + " were acknowledged to clients (" +
            (directory / acknowledged_watermark_file).string() + ")" +
            (damage.empty() ? " (the log is shorter than what was made durable)"
                            : " (" + damage + ")") +
            "." + restore};
  }
  if (!damage.empty()) {
    outcome.tolerated = "the write-ahead log " + names(logs) +
                        " ends in a damaged tail after the last acknowledged write (sequence " +
                        std::to_string(outcome.acknowledged_sequence) +
                        "): dropped; those writes were never acknowledged, their clients send "
                        "them again (" +
                        damage + ")";
  }
  return outcome;
}

}  // namespace actorsync::storage
