// A small tmpfs the test mounts for itself (we run as root in CI), so a full disk is real and
// cannot touch the machine's own filesystems: filled to a chosen free figure with a filler
// file, freed by removing it, unmounted on destruction. Where mounting is not allowed the
// test skips with the reason (GTEST_SKIP in the caller, after checking mounted()).
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace actorsync::testing {

class small_filesystem {
 public:
  explicit small_filesystem(std::uint64_t mebibytes) : mount_point_(root_.path() / "mnt") {
    std::filesystem::create_directories(mount_point_);
    const auto data = "size=" + std::to_string(mebibytes) + "m,mode=0700";
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
      why_not_ = "cannot mount a " + std::to_string(mebibytes) +
                 " MiB tmpfs for the full-disk test (needs root or CAP_SYS_ADMIN): " +
                 std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_filesystem() {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not_mounted() const { return why_not_; }
  const std::filesystem::path& path() const { return mount_point_; }

  std::uint64_t available() const {
    struct statvfs fs {};
    if (::statvfs(mount_point_.c_str(), &fs) != 0) throw std::runtime_error("statvfs failed");
    return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
  }
  /// Grows the filler file until at most `bytes` stay available (tmpfs allocates at once).
  void leave_available(std::uint64_t bytes) {
    const auto now = available();
    if (now <= bytes) return;
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot open the filler file");
    const auto size = ::lseek(fd, 0, SEEK_END);
    const int failed = ::posix_fallocate(fd, 0, size + static_cast<off_t>(now - bytes));
    ::close(fd);
    if (failed != 0) throw std::runtime_error(std::string("fallocate: ") + std::strerror(failed));
  }
  /// Removes the filler: the space returns.
  void free_filler() { std::filesystem::remove(filler()); }

 private:
  std::filesystem::path filler() const { return mount_point_ / "filler"; }
  temp_dir root_{"small-fs"};
  std::filesystem::path mount_point_;
  bool mounted_ = false;
  std::string why_not_;
};

}  // namespace actorsync::testing
