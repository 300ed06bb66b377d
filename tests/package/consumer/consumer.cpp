// A program outside the project, built against the installed package: it embeds the sync
// server (actorsync::server), issues tokens (actorsync::token) and syncs one realm between two
// clients (actorsync::actorsync), using only installed public headers. Exit status 0: the write
// of the first client is visible to the second.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <actorsync/api/app.hpp>
#include <actorsync/api/realm.hpp>
#include <actorsync/server/sync_server.hpp>
#include <actorsync/server/token.hpp>

namespace fs = std::filesystem;
using namespace actorsync;

namespace {

constexpr std::chrono::seconds wait_timeout{60};

int fail(const std::string& why) {
  std::cerr << "consumer: " << why << "\n";
  return 1;
}

api::app_config client(const std::string& url, const fs::path& directory) {
  api::app_config config;
  config.server_url = url;
  config.data_directory = directory;
  return config;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: consumer <work directory>");
  const fs::path work = argv[1];
  fs::create_directories(work);
  const std::string secret = "package-test-secret-0123456789abcdef";

  server::server_options options;
  options.data_directory = work / "server";
  options.token_secret = secret;
  options.ws.port = 0;
  options.metrics.enabled = false;
  server::sync_server sync;
  const auto ports = sync.start(options);
  const auto url = "ws://127.0.0.1:" + std::to_string(ports.ws);

  const auto expiry = static_cast<std::uint64_t>(std::time(nullptr)) + 3600;
  const api::user_credentials alice{
      "alice", server::issue_token(server::token_secret{secret}, {"alice", {"/shared"}, expiry})};

  api::app writer(client(url, work / "writer"));
  api::app reader(client(url, work / "reader"));
  auto written = writer.open_realm("/shared", alice);
  written->begin_write()
      .create_object("notes", "n1")
      .set_field("notes", "n1", "text", std::string{"hello"})
      .commit();
  if (!written->session().upload_all_local_changes(wait_timeout).get())
    return fail("upload not acknowledged");

  auto read = reader.open_realm("/shared", alice);
  if (!read->session().download_all_server_changes(wait_timeout).get())
    return fail("download did not complete");
  const auto text = read->read().get_field("notes", "n1", "text");
  if (!text || *text != protocol::value{std::string{"hello"}})
    return fail("the reader does not see the writer's note");
  std::cout << "synced: the reader sees the writer's note\n";
  return EXIT_SUCCESS;
}
