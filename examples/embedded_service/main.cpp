// embedded_service: drives sessions of several realms from its own actor and prints a summary.
//   embedded_service --url ws://127.0.0.1:7800 --user alice --token "$(actorsync-token ...)"
#include <iostream>

#include <CLI/CLI.hpp>

#include "service.hpp"

int main(int argc, char** argv) {
  embedded_service::options opts;
  opts.data_directory = "embedded-service-data";
  CLI::App cli{"Embeds the actorsync runtime and drives sync sessions from an actor"};
  cli.add_option("--url", opts.server_url, "sync server URL (ws:// or wss://)")->required();
  cli.add_option("--user", opts.user_id, "user id")->required();
  cli.add_option("--token", opts.token, "access token for the user")->required();
  cli.add_option("--data", opts.data_directory, "client data directory");
  cli.add_option("--realms", opts.realm_count, "realms to open")->check(CLI::Range(1, 100000));
  CLI11_PARSE(cli, argc, argv);
  auto s = embedded_service::run(opts);
  std::cout << "sessions " << s.sessions << ", uploads ok " << s.uploads_ok << ", downloads ok "
            << s.downloads_ok << ", progress reports " << s.progress_reports << ", sockets "
            << s.sockets_open << "\n";
  return s.ok() ? 0 : 1;
}
