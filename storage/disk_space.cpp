#include "storage/disk_space.hpp"

#include <sys/statvfs.h>

#include <string>

namespace actorsync::storage {

std::optional<std::uint64_t> available_bytes(const std::filesystem::path& path) {
  // A directory not created yet lives on its nearest existing ancestor's filesystem.
  auto existing = path;
  std::error_code ignored;
  while (!existing.empty() && !std::filesystem::exists(existing, ignored) &&
         existing != existing.parent_path()) {
    existing = existing.parent_path();
  }
  if (existing.empty()) existing = ".";
  struct statvfs fs {};
  if (::statvfs(existing.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

namespace {

std::string mebibytes(std::uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

std::optional<storage_error> refuse_when_full(const std::filesystem::path& path,
                                              std::uint64_t min_free_bytes) {
  const auto available = available_bytes(path);
  if (!available || *available >= min_free_bytes) return std::nullopt;
  return storage_error{storage_errc::storage_full,
                       "the disk holding '" + path.string() +
                           "' is full: " + mebibytes(*available) +
                           " available, below the reserve of " + mebibytes(min_free_bytes) +
                           " kept for the database; free space on that filesystem (writes resume "
                           "by themselves)"};
}

disk_space_guard::disk_space_guard(std::filesystem::path directory, std::uint64_t min_free_bytes)
    : directory_(std::move(directory)), min_free_bytes_(min_free_bytes) {}

std::optional<storage_error> disk_space_guard::admit(std::uint64_t bytes) {
  if (min_free_bytes_ == 0) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  const bool stale = full_ || admitted_since_check_ + bytes > recheck_bytes ||
                     now - checked_at_ >= recheck_interval;
  if (stale) {
    refusal_ = refuse_when_full(directory_, min_free_bytes_);
    full_ = refusal_.has_value();
    admitted_since_check_ = 0;
    checked_at_ = now;
  }
  if (full_) return refusal_;
  admitted_since_check_ += bytes;
  return std::nullopt;
}

bool disk_space_guard::full() const {
  std::lock_guard lock(mutex_);
  return full_;
}

}  // namespace actorsync::storage
