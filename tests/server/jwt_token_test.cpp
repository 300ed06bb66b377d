// Tokens are standard JWTs (issue 15): HS256 with the shared secret, RS256/ES256 from an
// identity provider's public key, with the classic JWT attacks refused.
#include "server/token.hpp"

#include <gtest/gtest.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../storage/temp_dir.hpp"

namespace actorsync::server {
namespace {

const token_secret secret("0123456789abcdef0123");
constexpr std::uint64_t now = 1'800'000'000;

struct key_pair {
  std::string private_pem;
  std::string public_pem;
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const auto size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// A fresh RSA-2048 or P-256 key pair in PEM, as an identity provider would hold.
key_pair generate(int type) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      type == EVP_PKEY_RSA ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) throw std::runtime_error("key generation failed");
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), &BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_PUBKEY(pub.get(), key.get());
  return {bio_text(priv.get()), bio_text(pub.get())};
}

/// A JWT with `claims_json` as its claims, signed by libjwt with `alg` and `key`.
std::string sign(jwt_alg_t alg, const std::string& key, const std::string& claims_json) {
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  EXPECT_EQ(jwt_add_grants_json(jwt.get(), claims_json.c_str()), 0);
  const auto* bytes = key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data());
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg, bytes, static_cast<int>(key.size())), 0);
  std::unique_ptr<char, decltype(&std::free)> text(jwt_encode_str(jwt.get()), &std::free);
  return text ? text.get() : "";
}

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
  actorsync::storage::testing::temp_dir dir;
  const auto path = (dir.path() / "not-a-key.pem").string();
  std::ofstream(path) << "hello\n";
  EXPECT_FALSE(token_public_key::from_file(path, why));
  EXPECT_NE(why.find("not a PEM public key"), std::string::npos) << why;
}

}  // namespace
}  // namespace actorsync::server
