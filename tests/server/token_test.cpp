#include <actorsync/server/token.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.hpp"

namespace actorsync::server {
namespace {

const token_secret secret("0123456789abcdef0123");
constexpr std::uint64_t now = 1'800'000'000;

TEST(Token, IssuedTokenVerifiesToItsClaims) {
  token_claims claims{"alice", {"/shop/*", "/shared"}, now + 60};
  auto token = issue_token(secret, claims);
  auto verified = verify_token(secret, token, now);
  ASSERT_TRUE(verified);
  EXPECT_EQ(*verified.claims, claims);
}

TEST(Token, TokenIsAJwtOfThreeBase64UrlParts) {
  auto token = issue_token(secret, {"bob", {"/x"}, now + 1});
  ASSERT_EQ(std::count(token.begin(), token.end(), '.'), 2);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
      std::string::npos);
}

TEST(Token, ExpiredTokenIsRefusedAsExpired) {
  auto token = issue_token(secret, {"alice", {"/x"}, now});
  auto verified = verify_token(secret, token, now);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error->code, token_errc::expired);
}

TEST(Token, OtherSecretIsABadSignature) {
  auto token = issue_token(token_secret("another-secret-of-16+"), {"alice", {"/x"}, now + 60});
  EXPECT_EQ(verify_token(secret, token, now).error->code, token_errc::bad_signature);
}

TEST(Token, TamperedPayloadIsABadSignature) {
  auto token = issue_token(secret, {"alice", {"/x"}, now + 60});
  auto forged = issue_token(secret, {"mallory", {"/*"}, now + 60});
  auto spliced = forged.substr(0, forged.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_EQ(verify_token(secret, spliced, now).error->code, token_errc::bad_signature);
}

TEST(Token, GarbageIsMalformedAndEmptyIsMissing) {
  EXPECT_EQ(verify_token(secret, "", now).error->code, token_errc::missing);
  EXPECT_EQ(verify_token(secret, "abc", now).error->code, token_errc::malformed);
  EXPECT_EQ(verify_token(secret, "a.b.c", now).error->code, token_errc::malformed);
  EXPECT_EQ(verify_token(secret, "!!.??", now).error->code, token_errc::malformed);
}

TEST(Token, Base64UrlRoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_FALSE(base64url_decode("a"));  // 6 bits cannot make a byte
}

TEST(Token, PatternsCoverExactPathsAndSubtrees) {
  EXPECT_TRUE(pattern_covers("/shop", "/shop"));
  EXPECT_FALSE(pattern_covers("/shop", "/shop/a"));
  EXPECT_TRUE(pattern_covers("/shop/*", "/shop/a"));
  EXPECT_TRUE(pattern_covers("/shop/*", "/shop/a/b"));
  EXPECT_FALSE(pattern_covers("/shop/*", "/shop"));
  EXPECT_FALSE(pattern_covers("/shop/*", "/shopping/a"));
  EXPECT_TRUE(pattern_covers("/*", "/anything"));
  token_claims claims{"u", {"/a", "/b/*"}, 0};
  EXPECT_TRUE(claims_cover(claims, "/b/c"));
  EXPECT_FALSE(claims_cover(claims, "/c"));
}

TEST(Token, SecretsShorterThan16BytesAreRefused) {
  std::string why;
  ::setenv("ACTORSYNC_TOKEN_SECRET", "short", 1);
  EXPECT_FALSE(token_secret::from_environment(why));
  EXPECT_NE(why.find("16"), std::string::npos);
  ::setenv("ACTORSYNC_TOKEN_SECRET", "long-enough-secret-value", 1);
  EXPECT_TRUE(token_secret::from_environment(why));
  ::unsetenv("ACTORSYNC_TOKEN_SECRET");
  EXPECT_FALSE(token_secret::from_file("/nonexistent/secret", why));
}

// docs/server.md, Securing: expires_at is Unix seconds, the unit of unix_now(), not the
// milliseconds of protocol timestamps.
TEST(Token, ExpiryIsInUnixSeconds) {
  const auto clock_seconds =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  EXPECT_LE(unix_now() - clock_seconds, 1u);  // read after it, from the same clock, in seconds
  auto token = issue_token(secret, {"alice", {"/x"}, now + 60});
  EXPECT_TRUE(verify_token(secret, token, now + 59));
  EXPECT_EQ(verify_token(secret, token, now + 60).error->code, token_errc::expired);
}

// docs/server.md, Securing: the secret file is text; its trailing CR/LF are not part of the key.
TEST(Token, TheSecretFileIsItsTextWithoutTrailingNewlines) {
  const actorsync::testing::temp_dir dir("token");
  const auto path = dir.path() / "secret";
  std::ofstream(path, std::ios::binary) << "c2VjcmV0LWJ5dGVzLTAxMjM0NTY3\r\n";
  std::string why;
  auto from_file = token_secret::from_file(path.string(), why);
  ASSERT_TRUE(from_file) << why;
  EXPECT_EQ(from_file->bytes(), "c2VjcmV0LWJ5dGVzLTAxMjM0NTY3");
  auto token = issue_token(token_secret("c2VjcmV0LWJ5dGVzLTAxMjM0NTY3"), {"a", {"/x"}, now + 60});
  EXPECT_TRUE(verify_token(*from_file, token, now));
}

}  // namespace
}  // namespace actorsync::server
