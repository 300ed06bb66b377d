// A damaged table block: one realm's history fails its checksum. That realm's sessions get the
// fatal ERROR storage_corruption (not "try again" forever), the server logs it naming the realm
// and counts it; another realm in the same table file keeps downloading and uploading; and
// `--verify` names the damaged file. (docs/RELIABILITY.md.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <actorsync/storage/history_store.hpp>
#include "tests/fault/support/run_to_exit.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

namespace fs = std::filesystem;
using protocol::error_code;
constexpr protocol::version_type damaged_versions = 400, healthy_versions = 20;
constexpr int exit_data_damaged = 4;  ///< docs/server.md, "Exit statuses"

/// 1 KiB that no block compression shrinks, so the damaged realm fills most of the table file.
std::string incompressible(std::mt19937& random) {
  static const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string text(1024, ' ');
  for (auto& c : text) c = alphabet[random() % alphabet.size()];
  return text;
}

std::uint64_t metric(std::uint16_t port, const std::string& name) {
  const auto [status, body] = http_get(port, "/metrics");
  const auto at = body.find("\n" + name + " ");
  if (status != 200 || at == std::string::npos) return UINT64_MAX;
  return std::stoull(body.substr(at + name.size() + 2));
}

/// The largest table file in `data`.
fs::path largest_table(const fs::path& data) {
  fs::path best;
  for (const auto& entry : fs::directory_iterator(data)) {
    if (entry.path().extension() != ".sst") continue;
    if (best.empty() || fs::file_size(entry.path()) > fs::file_size(best)) best = entry.path();
  }
  return best;
}

class SstDamage : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(secret()) << test_secret() << "\n"; }
  fs::path secret() const { return root_.path() / "secret"; }
  fs::path data() const { return root_.path() / "data"; }
  std::unique_ptr<scripted_client> connect(const tools::server_process& server) const {
    client_options options;
    options.port = server.ws_port();
    options.token = make_token("alice", {"/*"});
    return scripted_client::connect(options);
  }
  static void upload(scripted_client& client, protocol::version_type v, std::string text) {
    protocol::changeset c = make_changeset(v, "o" + std::to_string(v), 0);
    c.instructions.push_back(protocol::set_field{"items", "o" + std::to_string(v), "text",
                                                 protocol::value{std::move(text)}});
    client.send(protocol::upload_message{1, v, 0, {std::move(c)}});
    expect_acknowledgement(client, v);
  }
  static void ident_again(scripted_client& client, const std::string& realm,
                          const bound_session& granted) {
    client.send(protocol::bind_message{1, realm, ""});
    client.send(protocol::client_ident_message{1, granted.ident, granted.salt, 0, 0});
  }

  temp_dir root_{"sst-damage"};
  const std::string damaged_realm = "/sst/damaged", healthy_realm = "/sst/healthy";
};

TEST_F(SstDamage, TheDamagedRealmGetsAFatalStorageCorruptionAndOtherRealmsKeepWorking) {
  bound_session damaged_reader, healthy_reader, healthy_writer_id;
  {
    tools::server_process server(ACTORSYNC_SERVER_BINARY, data(), secret(),
                                 {"--log-level", "warning"});
    auto reader = connect(server);
    damaged_reader = bind_and_ident(*reader, 1, damaged_realm);
    healthy_reader = bind_and_ident(*reader, 2, healthy_realm);
    std::mt19937 random(17);
    auto writer = connect(server);
    bind_and_ident(*writer, 1, damaged_realm);
    for (protocol::version_type v = 1; v <= damaged_versions; ++v) {
      upload(*writer, v, incompressible(random));
    }
    auto healthy_writer = connect(server);
    healthy_writer_id = bind_and_ident(*healthy_writer, 1, healthy_realm);
    for (protocol::version_type v = 1; v <= healthy_versions; ++v) upload(*healthy_writer, v, "h");
    EXPECT_EQ(server.stop(), 0);
  }
  // Opening the store replays its log into a table file (RocksDB flushes after recovery).
  ASSERT_TRUE(storage::history_store::open(data(), {.durable = true, .min_free_bytes = 0}));
  const auto table = largest_table(data());
  ASSERT_FALSE(table.empty()) << "no table file after reopening the store";

  // 32 bytes flipped 40% into the file: inside the damaged realm's history, which fills most of
  // it (its keys sort first; the index and filter blocks are at the end).
  {
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(table) * 2 / 5);
    std::string bytes(32, '\0');
    file.seekg(at);
    file.read(bytes.data(), 32);
    for (auto& b : bytes) b = static_cast<char>(b ^ 0x5a);
    file.seekp(at);
    file.write(bytes.data(), 32);
  }

  tools::server_process server(ACTORSYNC_SERVER_BINARY, data(), secret(),
                               {"--log-level", "warning"});
  // The damaged realm: whatever it sends first, it ends in a fatal storage_corruption.
  auto victim = connect(server);
  ident_again(*victim, damaged_realm, damaged_reader);
  std::size_t downloaded = 0;
  std::optional<protocol::error_message> refusal;
  while (!refusal) {
    auto message = victim->receive();
    if (auto* e = std::get_if<protocol::error_message>(&message)) {
      refusal = *e;
    } else if (auto* d = std::get_if<protocol::download_message>(&message)) {
      downloaded += d->changesets.size();
      ASSERT_LT(downloaded, damaged_versions) << "the whole damaged history was served";
    }
  }
  EXPECT_EQ(refusal->code, static_cast<std::uint16_t>(error_code::storage_corruption))
      << refusal->message;
  EXPECT_FALSE(refusal->try_again);
  EXPECT_NE(refusal->message.find(damaged_realm), std::string::npos) << refusal->message;
  EXPECT_GE(metric(server.metrics_port(), "actorsync_realm_storage_corruptions_total"), 1u);
  EXPECT_NE(server.output().find("realm[" + damaged_realm + "] storage corruption"),
            std::string::npos)
      << server.output();
  // Binding again: the same fatal answer, not a retry loop.
  auto again = connect(server);
  ident_again(*again, damaged_realm, damaged_reader);
  again->expect_error(error_code::storage_corruption, 1);

  // The healthy realm in the same file: downloads everything, takes a new upload.
  auto reader = connect(server);
  ident_again(*reader, healthy_realm, healthy_reader);
  std::size_t healthy = 0;
  while (healthy < healthy_versions) {
    healthy += reader->expect<protocol::download_message>().changesets.size();
  }
  EXPECT_EQ(healthy, healthy_versions);
  auto writer = connect(server);
  writer->send(protocol::bind_message{1, healthy_realm, ""});
  writer->send(protocol::client_ident_message{1, healthy_writer_id.ident, healthy_writer_id.salt, 0,
                                              healthy_versions});
  upload(*writer, healthy_versions + 1, "after the damage");
  EXPECT_EQ(server.stop(), 0);

  // Offline, --verify names the damaged table file and the realm.
  const auto checked =
      run_to_exit({ACTORSYNC_SERVER_BINARY, "--verify", "--data-dir", data().string()},
                  root_.path() / "verify.log");
  EXPECT_EQ(checked.exit_status, exit_data_damaged) << checked.output;
  EXPECT_NE(checked.output.find(table.filename().string()), std::string::npos) << checked.output;
  EXPECT_NE(checked.output.find("realm " + damaged_realm), std::string::npos) << checked.output;
}

}  // namespace
}  // namespace actorsync::testing
