// An identity provider's JWTs (issue 15): with its public key configured, the server accepts the
// RS256/ES256 tokens it signs, at the upgrade and at BIND, and still refuses everyone else's.
#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include <actorsync/server/sync_server.hpp>
#include "tests/server/jwt_signing.hpp"
#include "tests/support/scripted_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_server.hpp"

namespace actorsync::testing {
namespace {

using server::key_pair;

std::string write_public_key(const temp_dir& dir, const key_pair& keys) {
  const auto path = (dir.path() / "idp.pem").string();
  std::ofstream(path) << keys.public_pem;
  return path;
}

std::string claims_for(const std::string& user, const std::string& realm) {
  return R"({"sub":")" + user + R"(","realms":[")" + realm + R"("],"exp":)" +
         std::to_string(server::unix_now() + 600) + "}";
}

TEST(IdentityProvider, ItsRs256TokensAreAcceptedAtTheUpgradeAndAtBind) {
  temp_dir keys("idp");
  const auto provider = server::generate(EVP_PKEY_RSA);
  const auto key_file = write_public_key(keys, provider);
  test_server server([&](server::server_options& o) { o.token_public_key_files = {key_file}; });
  const auto token = server::sign(JWT_ALG_RS256, provider.private_pem, claims_for("ida", "/idp"));
  auto client = server.connect(token);
  bind_and_ident(*client, 1, "/idp");
  // The shared secret's tokens keep working next to the provider's.
  bind_and_ident(*server.connect(), 2, "/alice");
}

TEST(IdentityProvider, TokensOfAnUnconfiguredKeyAreRefusedWith401) {
  temp_dir keys("idp");
  const auto provider = server::generate(EVP_PKEY_EC);
  const auto stranger = server::generate(EVP_PKEY_EC);
  const auto key_file = write_public_key(keys, provider);
  test_server server([&](server::server_options& o) { o.token_public_key_files = {key_file}; });
  const auto token = server::sign(JWT_ALG_ES256, stranger.private_pem, claims_for("eve", "/*"));
  EXPECT_EQ(upgrade_status(server.client(token)), 401);
}

TEST(IdentityProvider, AMissingKeyFileStopsTheStartNamingTheOptionAndTheCause) {
  temp_dir data("idp-data");
  server::server_options options;
  options.data_directory = data.path() / "server";
  options.token_secret = test_secret();
  options.ws.port = 0;
  options.metrics.enabled = false;
  options.token_public_key_files = {"/nonexistent/idp.pem"};
  server::sync_server instance;
  try {
    instance.start(options);
    FAIL() << "the server started without its key file";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("auth.public_key_files"), std::string::npos) << what;
    EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace actorsync::testing
