// actorsync-token: issues an access token signed with the server's secret.
//   actorsync-token --secret-file F --user alice --realm '/shop/*' --realm /shared --ttl 3600
#include <CLI/CLI.hpp>
#include <iostream>

#include <actorsync/server/token.hpp>
#include "server/command_line.hpp"

int main(int argc, char** argv) {
  CLI::App app{"actorsync-token: issue an actorsync access token"};
  std::string secret_file, user;
  std::vector<std::string> realms;
  std::uint64_t ttl = 3600;
  app.add_option("--secret-file", secret_file,
                 "File holding the server's token secret (default: ACTORSYNC_TOKEN_SECRET)");
  app.add_option("--user", user, "User id")->required();
  app.add_option("--realm", realms, "Realm path or pattern ending in /* (repeatable)")->required();
  app.add_option("--ttl", ttl, "Seconds until the token expires")->check(CLI::PositiveNumber);
  actorsync::command_line::add_version(app, "actorsync-token");
  if (auto status = actorsync::command_line::parse(app, argc, argv)) return *status;

  std::string why;
  auto secret = secret_file.empty() ? actorsync::server::token_secret::from_environment(why)
                                    : actorsync::server::token_secret::from_file(secret_file, why);
  if (!secret) {
    std::cerr << "actorsync-token: " << why << "\n";
    return actorsync::command_line::exit_usage_error;
  }
  for (const auto& realm : realms) {
    if (realm.empty() || realm.front() != '/') {
      std::cerr << "actorsync-token: --realm '" << realm << "' must start with '/'\n";
      return actorsync::command_line::exit_usage_error;
    }
  }
  actorsync::server::token_claims claims{user, realms, actorsync::server::unix_now() + ttl};
  std::cout << actorsync::server::issue_token(*secret, claims) << "\n";
  return 0;
}
