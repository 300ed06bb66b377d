// Ctrl-C on a running actorsync-load: the real binary runs as a child process with its embedded
// server; once its progress line shows every session connected, it gets SIGINT and must end with
// a partial report (JSON written, interrupted, documented exit status 130).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

/// A child process whose stdout is read line by line.
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& args) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
  }
  ~child_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ != nullptr) std::fclose(stdout_);
  }

  /// The next line of output; false at end of output.
  bool next_line(std::string& line) {
    char buffer[1024];
    if (std::fgets(buffer, sizeof buffer, stdout_) == nullptr) return false;
    line = buffer;
    return true;
  }
  void signal(int number) { kill(pid_, number); }
  /// Waits for the exit; -1 unless it exited normally.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
};

/// Kills the child if the test has not finished by the deadline: it only makes a hung run fail.
class watchdog {
 public:
  watchdog(pid_t pid, std::chrono::seconds limit)
      : thread_([this, pid, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired_ = true;
            kill(pid, SIGKILL);
          }
        }) {}
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

TEST(LoadInterrupt, SigintGivesAPartialReportAndExitStatus130) {
  const auto json = std::filesystem::temp_directory_path() /
                    ("actorsync-load-interrupt-" + std::to_string(getpid()) + ".json");
  std::filesystem::remove(json);
  // Far more writes than the run can finish before the signal: it is stopped mid-way.
  child_process load({ACTORSYNC_LOAD_BINARY, "--workload", "upload", "--realms", "40", "--writes",
                      "1000000", "--rate", "2000", "--seed", "3", "--max-duration", "600", "--json",
                      json.string()});
  watchdog guard(load.pid(), std::chrono::seconds(240));

  // Progress lines (plain, not a terminal) look like "[   2.0s] connected 40/40  acked ...":
  // every session counts as connected, including those connected before they were observed.
  std::string line, output;
  bool all_connected = false;
  while (!all_connected && load.next_line(line)) {
    output += line;
    all_connected = line.find("] connected 40/40  acked ") != std::string::npos &&
                    line.find("acked 0/") == std::string::npos;
  }
  ASSERT_TRUE(all_connected) << "no progress line with every session connected:\n" << output;

  load.signal(SIGINT);
  while (load.next_line(line)) output += line;  // read to the end: the child never blocks
  const int status = load.wait();
  ASSERT_FALSE(guard.fired()) << output;
  EXPECT_EQ(status, 130) << output;
  EXPECT_NE(output.find("actorsync-load report: upload"), std::string::npos) << output;

  std::ifstream in(json);
  ASSERT_TRUE(in) << "no JSON report written:\n" << output;
  const auto report = nlohmann::json::parse(in);
  std::filesystem::remove(json);
  EXPECT_TRUE(report["interrupted"].get<bool>());
  EXPECT_FALSE(report["passed"].get<bool>());
  EXPECT_EQ(report["workload"], "upload");
  EXPECT_EQ(report["sessions"], 40);
  const auto committed = report["writes_committed"].get<std::uint64_t>();
  const auto acked = report["writes_acked"].get<std::uint64_t>();
  EXPECT_GT(acked, 0u);
  EXPECT_LE(acked, committed);
  EXPECT_LT(committed, 40u * 1000000u);                                  // stopped early
  EXPECT_GE(report["latency_ms"]["count"].get<std::uint64_t>(), acked);  // late acks count too
}

}  // namespace
