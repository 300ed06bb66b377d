#include "server/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace actorsync::process {

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

std::uint64_t open_descriptors(pid_t pid) {
  std::uint64_t count = 0;
  std::error_code ec;
  for (auto i = std::filesystem::directory_iterator(proc_dir(pid) / "fd", ec);
       !ec && i != std::filesystem::directory_iterator(); i.increment(ec))
    ++count;
  return count;
}

std::uint64_t max_descriptors() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

double start_time_seconds() {
  // Field 22 of /proc/self/stat is the start time in clock ticks after boot; the command name
  // (field 2) may hold spaces, so fields are counted after its closing parenthesis.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const auto after_name = stat.rfind(')');
  if (after_name == std::string::npos) return 0;
  std::istringstream fields(stat.substr(after_name + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  std::ifstream boot_file("/proc/stat");
  std::string key;
  std::uint64_t boot_time = 0;
  while (boot_file >> key) {
    if (key == "btime") {
      boot_file >> boot_time;
      break;
    }
  }
  const long ticks = sysconf(_SC_CLK_TCK);
  if (boot_time == 0 || ticks <= 0 || field.empty()) return 0;
  return static_cast<double>(boot_time) + std::stod(field) / static_cast<double>(ticks);
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

}  // namespace actorsync::process
