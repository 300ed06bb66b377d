// Access tokens: who the user is, which realms they may sync, until when. Standard JSON Web
// Tokens (RFC 7519, JWS compact form) with the claims "sub" (the user id), "realms" (an array of
// realm patterns) and "exp" (Unix seconds), all required, and "nbf" honoured when present.
// Signed HS256 with the server's shared secret (what issue_token and actorsync-token make), or
// RS256/384/512 or ES256/384/512 by an identity provider whose PEM public key the server holds.
// Standalone (libjwt, OpenSSL and nlohmann/json in the .cpp only, no CAF), so the client runtime,
// tools and tests can issue tokens the server accepts.
//
// A pattern is an exact realm path, or ends with "/*" and covers every path below its prefix.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actorsync::server {

struct token_claims {
  std::string user_id;
  std::vector<std::string> realm_patterns;
  std::uint64_t expires_at = 0;  ///< Unix seconds
  friend bool operator==(const token_claims&, const token_claims&) = default;
};

enum class token_errc {
  missing,                ///< no token at all
  malformed,              ///< not a JWT, or a required claim is missing or of the wrong type
  bad_signature,          ///< no key the server holds for the token's algorithm verifies it
  expired,                ///< "exp" has passed
  not_yet_valid,          ///< "nbf" is still ahead
  unsupported_algorithm,  ///< "none", an HMAC other than HS256, or an algorithm libjwt lacks
};

/// A short lower-case name for logs and HTTP bodies ("expired", ...).
std::string_view to_string(token_errc code);

/// Why a token was refused; never contains the secret or the token itself.
struct token_error {
  token_errc code;
  std::string reason;
};

/// The secret both sides share. Immutable after construction; safe to share across threads.
class token_secret {
 public:
  explicit token_secret(std::string bytes);
  /// Reads the secret from a file (trailing newline stripped). Empty optional and `why` set if
  /// the file is missing, unreadable or holds fewer than 16 bytes.
  static std::optional<token_secret> from_file(const std::string& path, std::string& why);
  /// Reads ACTORSYNC_TOKEN_SECRET; empty optional when unset or shorter than 16 bytes.
  static std::optional<token_secret> from_environment(std::string& why);
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

/// An identity provider's public key (PEM, "-----BEGIN PUBLIC KEY-----"): RSA keys verify
/// RS256/384/512 tokens, EC keys ES256/384/512. Immutable; safe to share across threads.
class token_public_key {
 public:
  enum class family { rsa, ec };
  /// Empty optional and `why` set when the file is missing ("No such file or directory"), or
  /// holds no PEM public key, or a key of another type.
  static std::optional<token_public_key> from_file(const std::string& path, std::string& why);
  static std::optional<token_public_key> from_pem(std::string pem, std::string& why);
  family key_family() const { return family_; }
  const std::string& pem() const { return pem_; }

 private:
  token_public_key(std::string pem, family kind) : pem_(std::move(pem)), family_(kind) {}
  std::string pem_;
  family family_;
};

/// An HS256 JWT of `claims` signed with `secret`. Throws std::runtime_error if it cannot be
/// encoded (an empty user id).
std::string issue_token(const token_secret& secret, const token_claims& claims);

struct token_verification {
  std::optional<token_claims> claims;
  std::optional<token_error> error;
  explicit operator bool() const { return claims.has_value(); }
};

/// What the server accepts tokens signed with: the shared secret (HS256) and any number of
/// public keys. The token's header only chooses the key: an HS256 token is checked with the
/// secret alone, never with a public key's text (the classic algorithm confusion), "none" and
/// unknown algorithms are refused. Then the claims and expiry against `now` (Unix seconds).
class token_verifier {
 public:
  token_verifier() = default;
  explicit token_verifier(token_secret secret);
  void add_public_key(token_public_key key);
  token_verification verify(std::string_view token, std::uint64_t now_unix_seconds) const;

 private:
  std::optional<token_secret> secret_;
  std::vector<token_public_key> public_keys_;
};

/// token_verifier(secret).verify(...): HS256 tokens only.
token_verification verify_token(const token_secret& secret, std::string_view token,
                                std::uint64_t now_unix_seconds);

/// Seconds since the Unix epoch from the system clock.
std::uint64_t unix_now();

/// True if `pattern` covers `realm_path` (exact match, or "/prefix/*" and the path is below it).
bool pattern_covers(std::string_view pattern, std::string_view realm_path);
bool claims_cover(const token_claims& claims, std::string_view realm_path);

// Exposed for tests and tools.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace actorsync::server
