// The actorsync-server binary as a child process: SIGKILL right after acknowledgements loses
// nothing acknowledged; SIGTERM stops it gracefully; its stdout carries the ready line first and
// logs, on stderr, never block it (docs/server.md, Running).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>

#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

// Where the child's stderr goes: inherited from the test, or a pipe nobody ever reads.
enum class stderr_mode { inherit, unread_pipe };

/// The binary with its stdout on a pipe of one page that nobody reads after the ready line (a
/// server writing to it without a reader fills it fast), as a parent that only wants the ports.
class server_process : public tools::server_process {
 public:
  server_process(const std::filesystem::path& data, const std::filesystem::path& secret_file,
                 const char* log_level = "warning", stderr_mode errors = stderr_mode::inherit)
      : tools::server_process(options(data, secret_file, log_level, errors)) {}
  /// Sends `signal` and reaps the process; returns its wait status.
  int stop_with(int signal) {
    auto status = stop_within(signal, std::chrono::minutes(2));
    if (!status) throw std::runtime_error("the server did not exit within 2 minutes");
    return *status;
  }
  std::unique_ptr<scripted_client> connect() const {
    client_options options;
    options.port = ws_port();
    options.token = make_token("alice", {"/*"});
    return scripted_client::connect(options);
  }

 private:
  static tools::server_process_options options(const std::filesystem::path& data,
                                               const std::filesystem::path& secret_file,
                                               const char* log_level, stderr_mode errors) {
    tools::server_process_options o;
    o.binary = ACTORSYNC_SERVER_BINARY;
    o.data_directory = data;
    o.secret_file = secret_file;
    o.extra_args = {"--log-level", log_level};
    o.output = tools::server_output::stdout_pipe;
    o.pipe_capacity = 4096;
    o.unread_stderr_pipe = errors == stderr_mode::unread_pipe;
    return o;
  }
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

// Ctrl-C in a terminal reaches the foreground process group; the server child is not in its
// parent's group, so only the parent (which stops it after its report) sees the SIGINT.
TEST_F(ServerProcess, TheChildRunsInAProcessGroupOfItsOwn) {
  server_process server(data(), secret_file());
  EXPECT_EQ(::getpgid(server.pid()), server.pid());
  EXPECT_NE(::getpgid(server.pid()), ::getpgrp());
}

// --log-format json: every line the server logs is one JSON object (issue 15), messages with
// quotes and the like included.
TEST_F(ServerProcess, JsonLogLinesAreOneObjectEach) {
  tools::server_process_options o;
  o.binary = ACTORSYNC_SERVER_BINARY;
  o.data_directory = data();
  o.secret_file = secret_file();
  o.extra_args = {"--log-format", "json", "--log-level", "debug"};
  o.output = tools::server_output::log_file;
  std::string output;
  {
    tools::server_process server(o);
    client_options refused;
    refused.port = server.ws_port();
    refused.token = "\"quoted\\token\"";
    (void)upgrade_status(refused);  // logged as refused, with the reason quoted
    ASSERT_TRUE(server.stop_within(SIGTERM, std::chrono::minutes(2)));
    output = server.output();
  }
  std::istringstream lines(output);
  std::string line;
  int objects = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("actorsync-server ready", 0) == 0) continue;  // stdout's one line
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << line;
    EXPECT_TRUE(parsed.contains("time") && parsed.contains("level") && parsed.contains("message"))
        << line;
    ++objects;
  }
  EXPECT_GT(objects, 3);
}

// systemd's Type=notify (config/actorsync-server.service): READY=1 once the ports are bound,
// STOPPING=1 when a stop signal arrived.
TEST_F(ServerProcess, TellsSystemdWhenReadyAndWhenStopping) {
  const auto socket_path = dir_.path() / "notify";
  const int listener = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval deadline{60, 0};  // a bound on a lost datagram, not a synchronisation
  ::setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &deadline, sizeof deadline);
  const auto receive = [listener] {
    char text[128] = {};
    const auto n = ::recv(listener, text, sizeof text - 1, 0);
    return n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string("(nothing)");
  };
  ::setenv("NOTIFY_SOCKET", socket_path.c_str(), 1);  // the child inherits it
  std::optional<server_process> server;
  server.emplace(data(), secret_file());
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(receive(), "READY=1");
  const auto status = server->stop_with(SIGTERM);
  EXPECT_EQ(receive(), "STOPPING=1");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ::close(listener);
}

// --version on every binary, and flag errors exit with the documented status 2 (not CLI11's).
TEST(CommandLine, EveryBinaryHasVersionAndFlagErrorsExitWithStatus2) {
  for (const auto* binary : {ACTORSYNC_SERVER_BINARY, ACTORSYNC_TOKEN_BINARY}) {
    SCOPED_TRACE(binary);
    const auto run = [binary](const std::string& args) {
      const auto status =
          std::system((std::string(binary) + " " + args + " >/dev/null 2>&1").c_str());
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    EXPECT_EQ(run("--version"), 0);
    EXPECT_EQ(run("--no-such-flag"), 2);
    EXPECT_EQ(run("--help"), 0);
  }
  FILE* out = ::popen((std::string(ACTORSYNC_SERVER_BINARY) + " --version").c_str(), "r");
  ASSERT_NE(out, nullptr);
  char line[128] = {};
  ASSERT_NE(std::fgets(line, sizeof line, out), nullptr);
  ::pclose(out);
  EXPECT_EQ(std::string(line).rfind("actorsync-server ", 0), 0u) << line;
}

}  // namespace
}  // namespace actorsync::testing
