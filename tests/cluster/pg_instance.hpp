// Test support: a real PostgreSQL 15 for one test, started through tools/pg-test-instance.sh
// (the same steps a local cluster uses) in a temporary directory, stopped and removed at the
// end. Tests call ACTORSYNC_REQUIRE_POSTGRES() first: it skips, saying why, only when the
// PostgreSQL binaries are missing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/support/piped_child.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::testing {

inline std::filesystem::path pg_bin() {
  const char* from_env = std::getenv("PG_BIN");
  return from_env ? from_env : "/usr/lib/postgresql/15/bin";
}

/// Empty when PostgreSQL can be started here, else why not.
inline std::string postgres_missing() {
  const auto initdb = pg_bin() / "initdb";
  if (::access(initdb.c_str(), X_OK) != 0) {
    return "PostgreSQL 15 is not installed (" + initdb.string() +
           " missing): run tools/install-deps.sh";
  }
  return {};
}

#define ACTORSYNC_REQUIRE_POSTGRES()                                                            \
  do {                                                                                          \
    if (auto why = ::actorsync::testing::postgres_missing(); !why.empty()) GTEST_SKIP() << why; \
  } while (false)

class pg_instance {
 public:
  pg_instance() { start(); }
  ~pg_instance() {
    try {
      stop("fast");
    } catch (const std::exception&) {
      // The directory goes anyway; a server left behind dies with its deleted data directory.
    }
  }
  pg_instance(const pg_instance&) = delete;
  pg_instance& operator=(const pg_instance&) = delete;

  /// Starts (again, after stop: same data, same port) and waits until it accepts connections.
  void start() { url_ = run({"start", directory().string(), std::to_string(::getpid())}); }
  /// "fast" (a clean shutdown) or "immediate" (a crash: recovery replays the WAL on start).
  void stop(const std::string& mode) { run({"stop", directory().string(), mode}); }
  const std::string& url() const { return url_; }
  std::filesystem::path directory() const { return root_.path() / "pg"; }

 private:
  std::string run(std::vector<std::string> args) {
    args.insert(args.begin(), ACTORSYNC_SOURCE_DIR "/tools/pg-test-instance.sh");
    piped_child script(std::move(args));
    std::string last;
    while (auto line = script.next_line()) last = *line;
    if (script.wait_exit() != 0) {
      throw std::runtime_error("tools/pg-test-instance.sh failed (its stderr is above)");
    }
    return last;
  }

  temp_dir root_;
  std::string url_;
};

}  // namespace actorsync::testing
