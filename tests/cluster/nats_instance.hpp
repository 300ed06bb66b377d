// Test support: real nats-server processes for one test, started through
// tools/nats-test-instance.sh (one server, or N routed together as one NATS cluster) in a
// temporary directory, stopped and removed at the end. Tests call ACTORSYNC_REQUIRE_NATS()
// first: it skips, saying why, only when nats-server is missing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/piped_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::testing {

/// Empty when nats-server can be started here, else why not.
inline std::string nats_server_missing() {
  if (const char* from_env = std::getenv("NATS_SERVER")) {
    if (::access(from_env, X_OK) == 0) return {};
    return std::string("NATS_SERVER=") + from_env + " is not executable";
  }
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path ? path : "") + ":/usr/sbin:/usr/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / "nats-server";
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return {};
    start = end + 1;
  }
  return "nats-server is not installed: run tools/install-deps.sh";
}

#define ACTORSYNC_REQUIRE_NATS()                                                                   \
  do {                                                                                             \
    if (auto why = ::actorsync::testing::nats_server_missing(); !why.empty()) GTEST_SKIP() << why; \
  } while (false)

/// `members` nats-servers on 127.0.0.1: one plain server, or (more than one) a NATS cluster
/// whose routes are all up when the constructor returns.
class nats_instance {
 public:
  explicit nats_instance(int members = 1) {
    const std::string pid = std::to_string(::getpid());
    const auto line =
        members == 1 ? run({"start", directory().string(), pid})
                     : run({"start-cluster", directory().string(), std::to_string(members), pid});
    for (std::size_t start = 0; start < line.size();) {
      const auto end = std::min(line.find(',', start), line.size());
      urls_.push_back(line.substr(start, end - start));
      start = end + 1;
    }
  }
  ~nats_instance() {
    try {
      run({"stop", directory().string()});
    } catch (const std::exception&) {
      // The directory goes anyway; the watchdog stops what is left once this process is gone.
    }
  }
  nats_instance(const nats_instance&) = delete;
  nats_instance& operator=(const nats_instance&) = delete;

  const std::vector<std::string>& urls() const { return urls_; }
  const std::string& url(std::size_t member = 0) const { return urls_.at(member); }
  /// The member serving `url` (an index into urls()).
  std::size_t member_of(const std::string& url) const {
    for (std::size_t i = 0; i < urls_.size(); ++i) {
      if (urls_[i] == url) return i;
    }
    throw std::runtime_error("not a member's URL: " + url);
  }
  /// SIGKILLs a member (a crash) and waits until it is gone.
  void kill_member(std::size_t member) {
    run({"stop-member", directory().string(), std::to_string(member)});
  }
  /// Starts a killed member again on its ports; returns once its routes are up.
  void start_member(std::size_t member) {
    run({"start-member", directory().string(), std::to_string(member)});
  }
  std::filesystem::path directory() const { return root_.path() / "nats"; }

 private:
  std::string run(std::vector<std::string> args) {
    args.insert(args.begin(), ACTORSYNC_SOURCE_DIR "/tools/nats-test-instance.sh");
    piped_child script(std::move(args));
    std::string last;
    while (auto line = script.next_line()) last = *line;
    if (script.wait_exit() != 0) {
      throw std::runtime_error("tools/nats-test-instance.sh failed (its stderr is above)");
    }
    return last;
  }

  temp_dir root_{"nats"};
  std::vector<std::string> urls_;
};

}  // namespace actorsync::testing
