#include "tools/load/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace actorsync::load {

namespace {
std::filesystem::path proc_dir(pid_t pid) {
  return pid == 0 ? std::filesystem::path("/proc/self")
                  : std::filesystem::path("/proc") / std::to_string(pid);
}
}  // namespace

std::uint64_t resident_bytes(pid_t pid) {
  std::ifstream statm(proc_dir(pid) / "statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t open_sockets(pid_t pid) {
  std::uint64_t sockets = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(proc_dir(pid) / "fd", ec)) {
    std::error_code link_ec;
    const auto target = std::filesystem::read_symlink(entry.path(), link_ec);
    if (!link_ec && target.string().starts_with("socket:")) ++sockets;
  }
  return sockets;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace actorsync::load
