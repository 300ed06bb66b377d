// The actorsync-server binary as a child process: SIGKILL right after acknowledgements loses
// nothing acknowledged; SIGTERM stops it gracefully; its stdout carries the ready line first and
// logs, on stderr, never block it (docs/server.md, Running).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <thread>
#include <tuple>

#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace actorsync::testing {
namespace {

// Where the child's stderr goes: inherited from the test, or a pipe nobody ever reads.
enum class stderr_mode { inherit, unread_pipe };

/// A pipe holding at most one page: a server writing to it without reading fills it fast.
std::pair<int, int> small_pipe() {
  int ends[2];
  if (pipe(ends) != 0) throw std::runtime_error("pipe failed");
  fcntl(ends[1], F_SETPIPE_SZ, 4096);
  return {ends[0], ends[1]};
}

class server_process {
 public:
  server_process(const std::filesystem::path& data, const std::filesystem::path& secret_file,
                 const char* log_level = "warning", stderr_mode errors = stderr_mode::inherit) {
    auto [out_read, out_write] = small_pipe();
    int err_write = -1;
    if (errors == stderr_mode::unread_pipe) std::tie(stderr_, err_write) = small_pipe();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out_write, STDOUT_FILENO);
      if (err_write >= 0) dup2(err_write, STDERR_FILENO);
      close_range(3, ~0U, 0);
      execl(ACTORSYNC_SERVER_BINARY, ACTORSYNC_SERVER_BINARY, "--data-dir", data.c_str(),
            "--ws-port", "0", "--metrics-port", "0", "--secret-file", secret_file.c_str(),
            "--log-level", log_level, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out_write);
    if (err_write >= 0) close(err_write);
    // Blocks until the server printed its ready line (or exited: EOF); after it nobody reads
    // stdout, as a parent that only wants the ports.
    stdout_ = fdopen(out_read, "r");
    unsigned ws = 0, wss = 0, metrics = 0;
    for (char line[256]; std::fgets(line, sizeof line, stdout_) != nullptr;) {
      if (first_line_.empty()) first_line_ = line;
      if (std::sscanf(line, "actorsync-server ready ws=%u wss=%u metrics=%u", &ws, &wss,
                      &metrics) == 3) {
        port_ = static_cast<std::uint16_t>(ws);
        metrics_port_ = static_cast<std::uint16_t>(metrics);
        return;
      }
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error("server exited before it was ready");
  }
  ~server_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ != nullptr) std::fclose(stdout_);
    if (stderr_ >= 0) close(stderr_);
  }
  /// Sends `signal` and reaps the process; returns its wait status.
  int stop_with(int signal) {
    auto status = stop_within(signal, std::chrono::minutes(2));
    if (!status) throw std::runtime_error("the server did not exit within 2 minutes");
    return *status;
  }
  /// Sends `signal` and waits for the exit until `deadline`; no value if it did not exit (the
  /// destructor then kills it).
  std::optional<int> stop_within(int signal, std::chrono::milliseconds deadline) {
    const int exited = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (exited < 0) throw std::runtime_error("pidfd_open failed");
    kill(pid_, signal);
    pollfd wait{exited, POLLIN, 0};
    const bool done = poll(&wait, 1, static_cast<int>(deadline.count())) == 1;
    close(exited);
    if (!done) return std::nullopt;
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  std::unique_ptr<scripted_client> connect() const {
    client_options options;
    options.port = port_;
    options.token = make_token("alice", {"/*"});
    return scripted_client::connect(options);
  }
  const std::string& first_line() const { return first_line_; }
  std::uint16_t metrics_port() const { return metrics_port_; }
  /// Bytes written to the unread stderr pipe and still in it.
  int unread_stderr_bytes() const {
    int bytes = 0;
    ioctl(stderr_, FIONREAD, &bytes);
    return bytes;
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  int stderr_ = -1;
  std::string first_line_;
  std::uint16_t port_ = 0, metrics_port_ = 0;
};

class ServerProcess : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(secret_file()) << test_secret() << "\n"; }
  std::filesystem::path secret_file() const { return dir_.path() / "secret"; }
  std::filesystem::path data() const { return dir_.path() / "data"; }
  temp_dir dir_;
};

TEST_F(ServerProcess, SigkillAfterAcknowledgementsLosesNothingAcknowledged) {
  constexpr protocol::version_type uploads = 20, per_upload = 5;
  {
    server_process server(data(), secret_file());
    auto client = server.connect();
    bind_and_ident(*client, 1, "/crash");
    protocol::version_type version = 0;
    for (protocol::version_type u = 0; u < uploads; ++u) {
      protocol::upload_message upload{1, version + per_upload, 0, {}};
      for (protocol::version_type i = 0; i < per_upload; ++i) {
        ++version;
        upload.changesets.push_back(make_changeset(version, "o" + std::to_string(version),
                                                   static_cast<std::int64_t>(version)));
      }
      client->send(upload);
    }
    protocol::version_type acknowledged = 0;
    while (acknowledged < version) {
      acknowledged = client->expect<protocol::download_message>().last_integrated_client_version;
    }
    EXPECT_EQ(server.stop_with(SIGKILL) & 0x7f, SIGKILL);
  }
  server_process restarted(data(), secret_file());
  auto reader = restarted.connect();
  bind_and_ident(*reader, 1, "/crash");
  reader->send(protocol::client_mark_message{1, 1});
  std::vector<protocol::changeset> received;
  for (;;) {
    auto message = reader->receive();
    if (auto* d = std::get_if<protocol::download_message>(&message)) {
      for (auto& c : d->changesets) received.push_back(std::move(c));
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<protocol::server_mark_message>(message));
    break;
  }
  ASSERT_EQ(received.size(), uploads * per_upload);
  for (std::size_t i = 0; i < received.size(); ++i) {
    EXPECT_EQ(received[i].client_version, i + 1);
    EXPECT_EQ(received[i].server_version, i + 1);
    EXPECT_EQ(received[i].instructions,
              make_changeset(i + 1, "o" + std::to_string(i + 1), static_cast<std::int64_t>(i + 1))
                  .instructions);
  }
}

TEST_F(ServerProcess, SigtermSendsGoingAwayClosesWith1001AndExitsCleanly) {
  server_process server(data(), secret_file());
  auto client = server.connect();
  bind_and_ident(*client, 1, "/term");
  client->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "a", 1)}});
  while (client->expect<protocol::download_message>().last_integrated_client_version < 1) {
  }
  // SIGTERM from another thread of control: the client keeps reading meanwhile.
  std::thread terminator([&] { EXPECT_EQ(server.stop_with(SIGTERM), 0); });
  client->expect_error(protocol::error_code::going_away, 0);
  EXPECT_EQ(client->wait_closed(), 1001);
  terminator.join();
  server_process restarted(data(), secret_file());
  auto reader = restarted.connect();
  bind_and_ident(*reader, 1, "/term");
  EXPECT_EQ(reader->expect<protocol::download_message>().changesets.size(), 1u);
}

TEST_F(ServerProcess, TheFirstStdoutLineIsTheReadyLineEvenAtDebugLevel) {
  server_process server(data(), secret_file(), "debug");
  EXPECT_EQ(server.first_line().rfind("actorsync-server ready ws=", 0), 0u) << server.first_line();
}

// Logs a lot: every connection, BIND and IDENT logs at debug level.
void drive_logging(const server_process& server, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto client = server.connect();
    bind_and_ident(*client, 1, "/noisy-" + std::to_string(i));
  }
}

TEST_F(ServerProcess, SigtermCompletesWhileNobodyReadsStderrOrStdout) {
  server_process server(data(), secret_file(), "debug", stderr_mode::unread_pipe);
  drive_logging(server, 100);
  // The server kept serving with its stderr pipe full: the lines that did not fit were dropped.
  EXPECT_GT(server.unread_stderr_bytes(), 0);
  const auto [status, metrics] = http_get(server.metrics_port(), "/metrics");
  ASSERT_EQ(status, 200);
  const auto at = metrics.find("\nactorsync_log_lines_dropped_total ");
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GT(std::stoull(metrics.substr(at + 35)), 0u);
  // The deadline is generous: a graceful stop takes milliseconds; a blocked logger, forever.
  const auto exit_status = server.stop_within(SIGTERM, std::chrono::seconds(60));
  ASSERT_TRUE(exit_status.has_value()) << "SIGTERM did not stop the server";
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0) << *exit_status;
}

}  // namespace
}  // namespace actorsync::testing
