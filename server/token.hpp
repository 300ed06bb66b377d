// Access tokens: who the user is, which realms they may sync, until when. Signed with
// HMAC-SHA256 under a server secret. Standalone (OpenSSL and msgpack in the .cpp only, no CAF),
// so the client runtime, tools and tests can issue tokens the server accepts.
//
// Format: base64url(msgpack [user_id, [realm patterns], expires_at]) "." base64url(HMAC).
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
  missing,    ///< no token at all
  malformed,  ///< not two base64url parts, or the payload is not the expected msgpack array
  bad_signature,
  expired,
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

std::string issue_token(const token_secret& secret, const token_claims& claims);

/// Verifies signature (constant time) and expiry against `now` (Unix seconds).
struct token_verification {
  std::optional<token_claims> claims;
  std::optional<token_error> error;
  explicit operator bool() const { return claims.has_value(); }
};
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
