#include "tools/load/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
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

machine_info this_machine() {
  machine_info m;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) m.hostname = name;
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  m.cpu_cores = cores > 0 ? static_cast<std::uint64_t>(cores) : 0;
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0)
    m.memory_bytes = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  return m;
}

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace actorsync::load
