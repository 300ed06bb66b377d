// The actorsync-server binary as a child process: SIGKILL right after acknowledgements loses
// nothing acknowledged; SIGTERM stops it gracefully.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "tests/server/scripted_client.hpp"
#include "tests/server/test_server.hpp"

namespace actorsync::test {
namespace {

class server_process {
 public:
  server_process(const std::filesystem::path& data, const std::filesystem::path& secret_file) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execl(ACTORSYNC_SERVER_BINARY, ACTORSYNC_SERVER_BINARY, "--data-dir", data.c_str(),
            "--ws-port", "0", "--metrics-port", "0", "--secret-file", secret_file.c_str(),
            "--log-level", "warning", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // Blocks until the server printed its ready line (or exited: EOF).
    FILE* stream = fdopen(out[0], "r");
    char line[256] = {};
    if (std::fgets(line, sizeof line, stream) == nullptr) {
      std::fclose(stream);
      throw std::runtime_error("server exited before it was ready");
    }
    stdout_ = stream;
    unsigned ws = 0, wss = 0, metrics = 0;
    if (std::sscanf(line, "actorsync-server ready ws=%u wss=%u metrics=%u", &ws, &wss, &metrics) !=
        3) {
      throw std::runtime_error(std::string("unexpected first line: ") + line);
    }
    port_ = static_cast<std::uint16_t>(ws);
  }
  ~server_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ != nullptr) std::fclose(stdout_);
  }
  /// Sends `signal` and reaps the process; returns its wait status.
  int stop_with(int signal) {
    kill(pid_, signal);
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

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  std::uint16_t port_ = 0;
};

class ServerProcess : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(secret_file()) << test_secret() << "\n"; }
  std::filesystem::path secret_file() const { return dir_.path() / "secret"; }
  std::filesystem::path data() const { return dir_.path() / "data"; }
  temp_directory dir_;
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

}  // namespace
}  // namespace actorsync::test
