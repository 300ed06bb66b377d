// A damaged write-ahead log is never silent. 300 acknowledged changesets, SIGKILL (so they live
// only in the WAL), then the WAL cut to 90% or 50% of its length, or 32 bytes flipped in its
// middle: the server refuses to start (exit status 4) naming the log and what to do, changes
// nothing on disk, and `--verify` reports the damage (exit status 4). A damaged tail after the
// last acknowledged write (what a crash during an unacknowledged write leaves) is tolerated:
// the server starts, says so in its log and serves all 300. (docs/RELIABILITY.md.)
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/fault/support/run_to_exit.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

namespace fs = std::filesystem;
constexpr protocol::version_type acknowledged = 300;
constexpr int exit_data_damaged = 4;  ///< docs/server.md, "Exit statuses"

std::string read_file(const fs::path& file) {
  std::ostringstream bytes;
  bytes << std::ifstream(file, std::ios::binary).rdbuf();
  return bytes.str();
}

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

/// The one WAL file a killed server leaves (no memtable was flushed yet).
fs::path only_log(const fs::path& data) {
  std::vector<fs::path> logs;
  for (const auto& entry : fs::directory_iterator(data))
    if (entry.path().extension() == ".log") logs.push_back(entry.path());
  if (logs.size() != 1) throw std::runtime_error("expected one WAL file");
  return logs.front();
}

class WalDamage : public ::testing::Test {
 protected:
  // Once for all tests: 300 acknowledged changesets, then SIGKILL; each test damages a copy.
  static void SetUpTestSuite() {
    root_ = new temp_dir("wal-damage");
    std::ofstream(secret()) << test_secret() << "\n";
    tools::server_process server(ACTORSYNC_SERVER_BINARY, pristine(), secret(),
                                 {"--log-level", "warning"});
    client_options options;
    options.port = server.ws_port();
    options.token = make_token("alice", {"/*"});
    auto reader = scripted_client::connect(options);
    *reader_ = bind_and_ident(*reader, 1, realm);
    auto writer = scripted_client::connect(options);
    bind_and_ident(*writer, 1, realm);
    for (protocol::version_type v = 1; v <= acknowledged; ++v) {
      writer->send(protocol::upload_message{
          1, v, 0, {make_changeset(v, "o" + std::to_string(v), static_cast<std::int64_t>(v))}});
      expect_acknowledgement(*writer, v);
    }
    server.kill(SIGKILL);
  }
  static void TearDownTestSuite() { delete root_; }

  static fs::path secret() { return root_->path() / "secret"; }
  static fs::path pristine() { return root_->path() / "pristine"; }
  /// A fresh copy of the killed server's data directory.
  fs::path copy(const std::string& name) const {
    const auto to = root_->path() / name;
    fs::copy(pristine(), to, fs::copy_options::recursive);
    return to;
  }
  static finished_process start(const fs::path& data) {
    return run_to_exit({ACTORSYNC_SERVER_BINARY, "--data-dir", data.string(), "--secret-file",
                        secret().string(), "--ws-port", "0", "--no-metrics"},
                       data.string() + ".start.log");
  }
  static finished_process verify(const fs::path& data) {
    return run_to_exit({ACTORSYNC_SERVER_BINARY, "--verify", "--data-dir", data.string()},
                       data.string() + ".verify.log");
  }
  /// The damaged copy: no start, exit 4, the log named, nothing changed; --verify says so too.
  void expect_refused(const fs::path& data) {
    const auto log = only_log(data);
    const auto bytes = read_file(log);
    const auto refused = start(data);
    EXPECT_EQ(refused.exit_status, exit_data_damaged) << refused.output;
    EXPECT_NE(refused.output.find("write-ahead log " + log.string()), std::string::npos)
        << refused.output;
    EXPECT_NE(refused.output.find("were acknowledged to clients"), std::string::npos)
        << refused.output;
    EXPECT_NE(refused.output.find("Restore the data directory from a backup"), std::string::npos)
        << refused.output;
    EXPECT_EQ(read_file(log), bytes) << "the refused start changed the log";
    const auto checked = verify(data);
    EXPECT_EQ(checked.exit_status, exit_data_damaged) << checked.output;
    EXPECT_NE(checked.output.find("damaged: the write-ahead log"), std::string::npos)
        << checked.output;
  }
  /// Starts the real server on `data` and counts what a replica downloads from scratch.
  static std::size_t served(tools::server_process& server) {
    client_options options;
    options.port = server.ws_port();
    options.token = make_token("alice", {"/*"});
    auto client = scripted_client::connect(options);
    client->send(protocol::bind_message{1, realm, ""});
    client->send(protocol::client_ident_message{1, reader_->ident, reader_->salt, 0, 0});
    std::size_t downloaded = 0;
    while (downloaded < acknowledged) {
      downloaded += client->expect<protocol::download_message>().changesets.size();
    }
    return downloaded;
  }

  static inline temp_dir* root_ = nullptr;
  static inline const std::string realm = "/wal/notes";
  static inline bound_session* reader_ = new bound_session{};
};

TEST_F(WalDamage, ALogCutToNinetyPercentStopsTheStartNamingTheLog) {
  const auto data = copy("cut90");
  const auto log = only_log(data);
  fs::resize_file(log, fs::file_size(log) * 9 / 10);
  expect_refused(data);
}

TEST_F(WalDamage, ALogCutToHalfStopsTheStartNamingTheLog) {
  const auto data = copy("cut50");
  const auto log = only_log(data);
  fs::resize_file(log, fs::file_size(log) / 2);
  expect_refused(data);
}

TEST_F(WalDamage, ThirtyTwoFlippedBytesInTheMiddleStopTheStartNamingTheLog) {
  const auto data = copy("flipped");
  const auto log = only_log(data);
  auto bytes = read_file(log);
  for (std::size_t i = 0; i < 32; ++i) bytes[bytes.size() / 2 + i] ^= 0x5a;
  write_file(log, bytes);
  expect_refused(data);
}

TEST_F(WalDamage, ADamagedTailAfterTheLastAcknowledgedWriteIsToleratedAndReported) {
  const auto data = copy("torn-tail");
  const auto log = only_log(data);
  // A record header (checksum, length 50, full record) and a payload that fails the checksum:
  // what a crash in the middle of an unacknowledged write can leave.
  std::string tail{"\xde\xad\xbe\xef\x32\x00\x01", 7};
  tail += std::string(50, 'x');
  std::ofstream(log, std::ios::binary | std::ios::app) << tail;

  const auto checked = verify(data);
  EXPECT_EQ(checked.exit_status, 0) << checked.output;
  EXPECT_NE(checked.output.find("note: the write-ahead log"), std::string::npos) << checked.output;
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data, secret(), {"--log-level", "warning"});
  EXPECT_EQ(served(server), acknowledged);
  EXPECT_NE(server.output().find("ends in a damaged tail after the last acknowledged write"),
            std::string::npos)
      << server.output();
}

TEST_F(WalDamage, AnIntactDirectoryVerifiesCleanAndServesEverything) {
  const auto data = copy("intact");
  const auto checked = verify(data);
  EXPECT_EQ(checked.exit_status, 0) << checked.output;
  EXPECT_NE(checked.output.find("1 realms, 300 changesets checked, no damage found"),
            std::string::npos)
      << checked.output;
  tools::server_process server(ACTORSYNC_SERVER_BINARY, data, secret(), {"--log-level", "warning"});
  EXPECT_EQ(served(server), acknowledged);
  // Stopped gracefully and verified again: the flushed tables check clean as well.
  EXPECT_EQ(server.stop(), 0);
  const auto again = verify(data);
  EXPECT_EQ(again.exit_status, 0) << again.output;
}

}  // namespace
}  // namespace actorsync::testing
