// The server-wide memory budget against the real server binary: readers that never read, senders
// that stop mid-frame and a BIND flood together would make the server hold hundreds of MB; with
// a 64 MiB budget the largest consumers are shed (ERROR server_overloaded), the server's peak
// resident memory stays within the budget plus a margin, and a well-behaved client is served
// throughout. A frame started and never finished ends its connection with frame_timeout.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/raw_websocket.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_server.hpp"
#include "tools/server_process/server_process.hpp"

namespace actorsync::testing {
namespace {

using protocol::error_code;
constexpr std::size_t mib = 1024 * 1024;

// A field of /proc/PID/status in bytes (VmRSS, VmHWM).
std::size_t status_bytes(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

std::uint64_t metric(const tools::server_process& server, const std::string& sample) {
  const auto [status, body] = http_get(server.metrics_port(), "/metrics");
  const auto at = body.find("\n" + sample + " ");
  return status == 200 && at != std::string::npos ? std::stoull(body.substr(at + sample.size() + 2))
                                                  : 0;
}

protocol::changeset sized_changeset(protocol::version_type version, std::size_t bytes) {
  auto c = make_changeset(version, "big" + std::to_string(version), 1);
  c.instructions.push_back(protocol::set_field{"items", "big" + std::to_string(version), "blob",
                                               std::string(bytes, 'x')});
  return c;
}

class MemoryBudget : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(dir_.path() / "secret") << test_secret() << "\n"; }

  std::unique_ptr<tools::server_process> start(const std::string& limits) {
    std::ofstream(dir_.path() / "server.toml") << "[limits]\n" << limits;
    return std::make_unique<tools::server_process>(
        ACTORSYNC_SERVER_BINARY, dir_.path() / "data", dir_.path() / "secret",
        std::vector<std::string>{"--config", (dir_.path() / "server.toml").string()});
  }
  std::unique_ptr<scripted_client> connect(const tools::server_process& server) const {
    client_options options;
    options.port = server.ws_port();
    options.token = make_token("alice", {"/*"});
    return scripted_client::connect(options);
  }
  std::string token() const { return make_token("mallory", {"/*"}); }

  temp_dir dir_{"memory-budget"};
};

// One well-behaved round: an upload acknowledged, and the whole of /big downloaded.
void served(scripted_client& client, protocol::session_ident session,
            protocol::version_type version, std::size_t big_changesets) {
  bind_and_ident(client, session, "/calm/r" + std::to_string(session));
  client.send(protocol::upload_message{session, 1, 0, {make_changeset(1, "calm", 1)}});
  EXPECT_EQ(expect_acknowledgement(client, 1).last_integrated_client_version, 1u);
  bind_and_ident(client, session + 1, "/big");
  client.send(protocol::client_mark_message{session + 1, version});
  EXPECT_EQ(changesets_until_mark(client), std::optional<std::size_t>(big_changesets));
}

TEST_F(MemoryBudget, GreedyPeersAreShedAndTheServerStaysWithinItsBudget) {
  constexpr std::size_t budget_mib = 64;
  // Senders the budget does not shed are ended by the frame timeout: every one is told.
  auto server =
      start("memory_budget_mb = " + std::to_string(budget_mib) + "\nframe_timeout_ms = 5000\n");

  // 8 MiB of history that every greedy reader asks for, 1 MiB per DOWNLOAD.
  constexpr std::size_t big_changesets = 128;
  {
    auto writer = connect(*server);
    bind_and_ident(*writer, 1, "/big");
    for (protocol::version_type from = 1; from <= big_changesets; from += 16) {
      protocol::upload_message upload{1, from + 15, 0, {}};
      for (auto v = from; v < from + 16; ++v)
        upload.changesets.push_back(sized_changeset(v, 64 * 1024));
      writer->send(upload);
      expect_acknowledgement(*writer, from + 15);
    }
  }
  auto calm = connect(*server);
  served(*calm, 1, 1, big_changesets);
  const auto baseline = status_bytes(server->pid(), "VmRSS");

  // Readers that never read: 12 connections x 24 sessions, each session a 1 MiB DOWNLOAD queued
  // (288 MiB in all without the budget).
  std::vector<std::unique_ptr<raw_websocket>> greedy;
  for (int c = 0; c < 12; ++c) {
    greedy.push_back(std::make_unique<raw_websocket>(server->ws_port(), token(), 4096));
    for (protocol::session_ident s = 1; s <= 24; ++s) {
      greedy.back()->send(protocol::bind_message{s, "/big", ""});
      greedy.back()->send(protocol::client_ident_message{s, 0, 0, 0, 0});
    }
  }
  // Senders that stop 1 MiB short of a 16 MiB frame (150 MiB in all).
  std::vector<std::unique_ptr<raw_websocket>> stalled_senders;
  for (int c = 0; c < 10; ++c) {
    stalled_senders.push_back(std::make_unique<raw_websocket>(server->ws_port(), token()));
    stalled_senders.back()->send_frame_start(16 * mib - 1024, 15 * mib);
  }
  // A BIND flood: 20,000 sessions on one connection (about 64 MB of bookkeeping).
  raw_websocket flood(server->ws_port(), token());
  for (protocol::session_ident s = 1; s <= 20000; ++s) {
    if (!flood.send(protocol::bind_message{s, "/flood/r" + std::to_string(s % 50), ""})) break;
  }

  // The well-behaved client is served while all that is held.
  served(*calm, 3, 2, big_changesets);
  ASSERT_TRUE(eventually([&] { return metric(*server, "actorsync_connections_shed_total") >= 3; }));
  served(*calm, 5, 3, big_changesets);

  // A sender shed mid-frame is told why.
  std::size_t told = 0;
  for (auto& sender : stalled_senders) {
    auto error = sender->read_until_close();
    if (error && error->code == static_cast<std::uint16_t>(error_code::server_overloaded)) {
      EXPECT_TRUE(error->try_again);
      ++told;
    }
  }
  EXPECT_GE(told, 1u);

  const auto peak = status_bytes(server->pid(), "VmHWM");
  constexpr std::size_t margin = 96 * mib;  // allocator slack, RocksDB reads, frames being decoded
  EXPECT_LT(peak - baseline, budget_mib * mib + margin)
      << "baseline " << baseline / mib << " MiB, peak " << peak / mib << " MiB";
  std::cout << "server resident memory: baseline " << baseline / mib << " MiB, peak " << peak / mib
            << " MiB; " << told << " of 10 stalled senders shed\n";
  // What shed connections held goes back once their sockets are gone.
  EXPECT_TRUE(eventually(
      [&] { return metric(*server, "actorsync_memory_budget_used_bytes") <= budget_mib * mib; }));
}

TEST_F(MemoryBudget, AFrameNotFinishedInTimeEndsItsConnectionWithFrameTimeout) {
  auto server = start("frame_timeout_ms = 300\n");
  raw_websocket sender(server->ws_port(), token());
  ASSERT_TRUE(sender.send_frame_start(64 * 1024, 1000));
  const auto error = sender.read_until_close();
  ASSERT_TRUE(error.has_value()) << "the connection ended without an ERROR";
  EXPECT_EQ(error->code, static_cast<std::uint16_t>(error_code::frame_timeout)) << error->message;
  EXPECT_TRUE(error->try_again);
  // Others are not affected.
  auto calm = connect(*server);
  bind_and_ident(*calm, 1, "/calm");
  calm->send(protocol::upload_message{1, 1, 0, {make_changeset(1, "calm", 1)}});
  EXPECT_EQ(expect_acknowledgement(*calm, 1).last_integrated_client_version, 1u);
}

}  // namespace
}  // namespace actorsync::testing
