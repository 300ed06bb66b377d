#include "server/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <msgpack.hpp>
#include <sstream>

namespace actorsync::server {

namespace {

constexpr std::size_t min_secret_bytes = 16;
constexpr std::size_t max_token_text_bytes = 8192;
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<std::uint8_t, 32> hmac_sha256(const std::string& key, std::string_view data) {
  std::array<std::uint8_t, 32> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &length);
  return out;
}

std::string pack_claims(const token_claims& claims) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> p(buffer);
  p.pack_array(3);
  p.pack(claims.user_id);
  p.pack_array(static_cast<std::uint32_t>(claims.realm_patterns.size()));
  for (const auto& pattern : claims.realm_patterns) p.pack(pattern);
  p.pack_uint64(claims.expires_at);
  return std::string(buffer.data(), buffer.size());
}

// Strict decoding: exactly [str, [str...], uint]; anything else is malformed.
std::optional<token_claims> unpack_claims(const std::string& bytes) {
  try {
    std::size_t offset = 0;
    msgpack::unpack_limit limit(1024, 0, 4096, 4096, 0, 3);
    auto handle = msgpack::unpack(bytes.data(), bytes.size(), offset, nullptr, nullptr, limit);
    if (offset != bytes.size()) return std::nullopt;
    const auto& o = handle.get();
    if (o.type != msgpack::type::ARRAY || o.via.array.size != 3) return std::nullopt;
    const auto* f = o.via.array.ptr;
    if (f[0].type != msgpack::type::STR || f[1].type != msgpack::type::ARRAY ||
        f[2].type != msgpack::type::POSITIVE_INTEGER) {
      return std::nullopt;
    }
    token_claims claims;
    claims.user_id.assign(f[0].via.str.ptr, f[0].via.str.size);
    for (std::uint32_t i = 0; i < f[1].via.array.size; ++i) {
      const auto& p = f[1].via.array.ptr[i];
      if (p.type != msgpack::type::STR) return std::nullopt;
      claims.realm_patterns.emplace_back(p.via.str.ptr, p.via.str.size);
    }
    claims.expires_at = f[2].via.u64;
    return claims;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

token_verification refuse(token_errc code, std::string reason) {
  token_verification v;
  v.error = token_error{code, std::move(reason)};
  return v;
}

}  // namespace

std::string_view to_string(token_errc code) {
  switch (code) {
    case token_errc::missing:
      return "missing";
    case token_errc::malformed:
      return "malformed";
    case token_errc::bad_signature:
      return "bad_signature";
    case token_errc::expired:
      return "expired";
  }
  return "unknown";
}

token_secret::token_secret(std::string bytes) : bytes_(std::move(bytes)) {}

std::optional<token_secret> token_secret::from_file(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read token secret file '" + path + "'";
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  auto bytes = content.str();
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r')) bytes.pop_back();
  if (bytes.size() < min_secret_bytes) {
    why = "token secret file '" + path + "' holds fewer than 16 bytes";
    return std::nullopt;
  }
  return token_secret(std::move(bytes));
}

std::optional<token_secret> token_secret::from_environment(std::string& why) {
  const char* value = std::getenv("ACTORSYNC_TOKEN_SECRET");
  if (value == nullptr) {
    why = "ACTORSYNC_TOKEN_SECRET is not set";
    return std::nullopt;
  }
  std::string bytes(value);
  if (bytes.size() < min_secret_bytes) {
    why = "ACTORSYNC_TOKEN_SECRET holds fewer than 16 bytes";
    return std::nullopt;
  }
  return token_secret(std::move(bytes));
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char ch : bytes) {
    buffer = (buffer << 8) | ch;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 0x3F]);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char ch : text) {
    int v = -1;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '-')
      v = 62;
    else if (ch == '_')
      v = 63;
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // Unpadded base64url leaves 0, 2 or 4 spare bits, all zero.
  if (bits >= 6 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string issue_token(const token_secret& secret, const token_claims& claims) {
  auto payload = base64url_encode(pack_claims(claims));
  auto mac = hmac_sha256(secret.bytes(), payload);
  return payload + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

token_verification verify_token(const token_secret& secret, std::string_view token,
                                std::uint64_t now_unix_seconds) {
  if (token.empty()) return refuse(token_errc::missing, "no token");
  if (token.size() > max_token_text_bytes) return refuse(token_errc::malformed, "token too long");
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find('.', dot + 1) != std::string_view::npos) {
    return refuse(token_errc::malformed, "token is not two base64url parts joined by '.'");
  }
  auto payload_text = token.substr(0, dot);
  auto signature = base64url_decode(token.substr(dot + 1));
  auto payload = base64url_decode(payload_text);
  if (!signature || !payload || signature->size() != 32) {
    return refuse(token_errc::malformed, "token parts are not valid base64url");
  }
  // Check the signature before looking inside the payload: unsigned input is never parsed.
  auto expected = hmac_sha256(secret.bytes(), payload_text);
  if (CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
    return refuse(token_errc::bad_signature, "token signature does not match");
  }
  auto claims = unpack_claims(*payload);
  if (!claims)
    return refuse(token_errc::malformed, "token payload is not [user, [realms], expiry]");
  if (claims->expires_at <= now_unix_seconds) {
    return refuse(token_errc::expired, "token expired");
  }
  token_verification v;
  v.claims = std::move(claims);
  return v;
}

std::uint64_t unix_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

bool pattern_covers(std::string_view pattern, std::string_view realm_path) {
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
    auto prefix = pattern.substr(0, pattern.size() - 1);  // keeps the trailing '/'
    return realm_path.size() > prefix.size() && realm_path.substr(0, prefix.size()) == prefix;
  }
  return pattern == realm_path;
}

bool claims_cover(const token_claims& claims, std::string_view realm_path) {
  for (const auto& pattern : claims.realm_patterns) {
    if (pattern_covers(pattern, realm_path)) return true;
  }
  return false;
}

}  // namespace actorsync::server
