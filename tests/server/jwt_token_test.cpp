// Tokens are standard JWTs (issue 15): HS256 with the shared secret, RS256/ES256 from an
// identity provider's public key, with the classic JWT attacks refused.
#include <actorsync/server/token.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "jwt_signing.hpp"
#include "tests/support/temp_dir.hpp"

namespace actorsync::server {
namespace {

const token_secret secret("0123456789abcdef0123");
constexpr std::uint64_t now = 1'800'000'000;

const std::string alice_claims =
    R"({"sub":"alice","realms":["/shop/*"],"exp":)" + std::to_string(now + 60) + "}";

token_public_key public_key(const key_pair& keys) {
  std::string why;
  auto key = token_public_key::from_pem(keys.public_pem, why);
  if (!key) throw std::runtime_error(why);
  return *key;
}

TEST(JwtToken, AnRs256TokenOfAnIdentityProviderVerifiesWithItsPublicKey) {
  const auto provider = generate(EVP_PKEY_RSA);
  token_verifier verifier(secret);
  verifier.add_public_key(public_key(provider));
  const auto verified =
      verifier.verify(sign(JWT_ALG_RS256, provider.private_pem, alice_claims), now);
  ASSERT_TRUE(verified) << verified.error->reason;
  EXPECT_EQ(verified.claims->user_id, "alice");
  EXPECT_EQ(verified.claims->realm_patterns, std::vector<std::string>{"/shop/*"});
  EXPECT_EQ(verified.claims->expires_at, now + 60);
}

TEST(JwtToken, AnEs256TokenVerifiesWithItsEcPublicKey) {
  const auto provider = generate(EVP_PKEY_EC);
  token_verifier verifier;
  verifier.add_public_key(public_key(provider));
  EXPECT_TRUE(verifier.verify(sign(JWT_ALG_ES256, provider.private_pem, alice_claims), now));
}

TEST(JwtToken, AnotherProvidersKeyIsABadSignature) {
  const auto provider = generate(EVP_PKEY_RSA);
  const auto impostor = generate(EVP_PKEY_RSA);
  token_verifier verifier;
  verifier.add_public_key(public_key(provider));
  const auto verified =
      verifier.verify(sign(JWT_ALG_RS256, impostor.private_pem, alice_claims), now);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error->code, token_errc::bad_signature);
}

// The classic confusion: an HS256 token whose HMAC key is the server's public key text.
TEST(JwtToken, AnHs256TokenKeyedWithThePublicKeyTextIsRefused) {
  const auto provider = generate(EVP_PKEY_RSA);
  token_verifier verifier;  // no shared secret: public keys only
  verifier.add_public_key(public_key(provider));
  const auto forged = sign(JWT_ALG_HS256, provider.public_pem, alice_claims);
  const auto verified = verifier.verify(forged, now);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error->code, token_errc::bad_signature);
}

TEST(JwtToken, AlgorithmNoneAndOtherHmacsAreRefused) {
  const auto unsigned_token = sign(JWT_ALG_NONE, "", alice_claims);
  EXPECT_EQ(verify_token(secret, unsigned_token, now).error->code,
            token_errc::unsupported_algorithm);
  const auto hs512 = sign(JWT_ALG_HS512, secret.bytes(), alice_claims);
  EXPECT_EQ(verify_token(secret, hs512, now).error->code, token_errc::unsupported_algorithm);
}

TEST(JwtToken, MissingOrMistypedClaimsAreMalformed) {
  const auto exp = std::to_string(now + 60);
  for (const std::string& claims : std::vector<std::string>{
           R"({"realms":["/x"],"exp":)" + exp + "}", R"({"sub":"alice","exp":)" + exp + "}",
           R"({"sub":"alice","realms":"/x","exp":)" + exp + "}",
           R"({"sub":"alice","realms":[1],"exp":)" + exp + "}",
           std::string(R"({"sub":"alice","realms":["/x"]})"),
           R"({"sub":"alice","realms":["/x"],"exp":"soon"})"}) {
    const auto verified = verify_token(secret, sign(JWT_ALG_HS256, secret.bytes(), claims), now);
    ASSERT_FALSE(verified) << claims;
    EXPECT_EQ(verified.error->code, token_errc::malformed) << claims;
  }
}

TEST(JwtToken, ANotBeforeStillAheadIsRefused) {
  const auto claims = R"({"sub":"alice","realms":["/x"],"exp":)" + std::to_string(now + 60) +
                      R"(,"nbf":)" + std::to_string(now + 30) + "}";
  const auto token = sign(JWT_ALG_HS256, secret.bytes(), claims);
  EXPECT_EQ(verify_token(secret, token, now).error->code, token_errc::not_yet_valid);
  EXPECT_TRUE(verify_token(secret, token, now + 31));
}

TEST(JwtToken, PublicKeyFileErrorsNameTheCause) {
  std::string why;
  EXPECT_FALSE(token_public_key::from_file("/nonexistent/idp.pem", why));
  EXPECT_NE(why.find("No such file or directory"), std::string::npos) << why;
  actorsync::testing::temp_dir dir("jwt");
  const auto path = (dir.path() / "not-a-key.pem").string();
  std::ofstream(path) << "hello\n";
  EXPECT_FALSE(token_public_key::from_file(path, why));
  EXPECT_NE(why.find("not a PEM public key"), std::string::npos) << why;
}

}  // namespace
}  // namespace actorsync::server
