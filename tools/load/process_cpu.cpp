#include "tools/load/process_cpu.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace actorsync::load {

namespace {

struct stat_fields {
  pid_t parent = 0;
  double own_ticks = 0;       ///< utime + stime
  double children_ticks = 0;  ///< cutime + cstime (reaped children)
};

/// Fields of /proc/<pid>/stat after the command name, which may hold spaces: "... ) S ppid ...".
bool read_stat(pid_t pid, stat_fields& out) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return false;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  // Field 3 is the state; ppid is 4, utime 14, stime 15, cutime 16, cstime 17 (proc(5)).
  double value[18] = {};
  for (int i = 3; i <= 17 && rest >> field; ++i) value[i] = std::strtod(field.c_str(), nullptr);
  out.parent = static_cast<pid_t>(value[4]);
  out.own_ticks = value[14] + value[15];
  out.children_ticks = value[16] + value[17];
  return true;
}

}  // namespace

double process_cpu_seconds(pid_t pid, bool children) {
  if (pid <= 0) return 0;
  stat_fields self;
  if (!read_stat(pid, self)) return 0;
  double ticks = self.own_ticks;
  if (children) {
    ticks += self.children_ticks;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const auto name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      stat_fields child;
      if (read_stat(static_cast<pid_t>(std::stol(name)), child) && child.parent == pid)
        ticks += child.own_ticks;
    }
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace actorsync::load
