#include <actorsync/server/token.hpp>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace actorsync::server {

namespace {

constexpr std::size_t min_secret_bytes = 16;
constexpr std::size_t max_token_text_bytes = 8192;
constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
    case token_errc::not_yet_valid:
      return "not_yet_valid";
    case token_errc::unsupported_algorithm:
      return "unsupported_algorithm";
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

namespace {

/// The algorithms accepted, each with the key it needs: the shared secret signs HS256 only (a
/// token naming another HMAC algorithm is refused rather than tried), public keys their family.
struct algorithm_choice {
  jwt_alg_t alg;
  std::optional<token_public_key::family> key_family;  ///< empty: the shared secret
};

std::optional<algorithm_choice> accepted_algorithm(std::string_view name) {
  using family = token_public_key::family;
  if (name == "HS256") return algorithm_choice{JWT_ALG_HS256, std::nullopt};
  if (name == "RS256") return algorithm_choice{JWT_ALG_RS256, family::rsa};
  if (name == "RS384") return algorithm_choice{JWT_ALG_RS384, family::rsa};
  if (name == "RS512") return algorithm_choice{JWT_ALG_RS512, family::rsa};
  if (name == "ES256") return algorithm_choice{JWT_ALG_ES256, family::ec};
  if (name == "ES384") return algorithm_choice{JWT_ALG_ES384, family::ec};
  if (name == "ES512") return algorithm_choice{JWT_ALG_ES512, family::ec};
  return std::nullopt;
}

struct jwt_deleter {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using jwt_handle = std::unique_ptr<jwt_t, jwt_deleter>;
struct c_string_deleter {
  void operator()(char* text) const { std::free(text); }
};
using c_string = std::unique_ptr<char, c_string_deleter>;

/// The token's JOSE header, decoded and parsed, only to choose the key: nothing in it is trusted
/// until the signature is checked with the key the server holds for that algorithm.
std::optional<std::string> header_algorithm(std::string_view token) {
  const auto first_dot = token.find('.');
  const auto second_dot =
      first_dot == std::string_view::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos || token.find('.', second_dot + 1) != token.npos)
    return std::nullopt;
  const auto header_text = base64url_decode(token.substr(0, first_dot));
  if (!header_text) return std::nullopt;
  const auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string())
    return std::nullopt;
  return header["alg"].get<std::string>();
}

/// Decodes and checks the signature with `key`; null when it does not verify.
jwt_handle decode_with(const std::string& token, const std::string& key, jwt_alg_t expected) {
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 0)
    return nullptr;
  jwt_handle jwt(raw);
  // The library picked the algorithm from the header too: it must be the one the key is for.
  if (jwt_get_alg(jwt.get()) != expected) return nullptr;
  return jwt;
}

/// The claims of a verified token: "sub", "realms" and "exp" are required, "nbf" optional.
token_verification read_claims(jwt_t* jwt, std::uint64_t now) {
  token_claims claims;
  const char* subject = jwt_get_grant(jwt, "sub");
  if (subject == nullptr || *subject == '\0')
    return refuse(token_errc::malformed, "token has no \"sub\" (user id) claim");
  claims.user_id = subject;
  const c_string realms_text(jwt_get_grants_json(jwt, "realms"));
  const auto realms =
      realms_text ? nlohmann::json::parse(realms_text.get(), nullptr, false) : nlohmann::json{};
  if (!realms.is_array())
    return refuse(token_errc::malformed, "token has no \"realms\" claim (an array of patterns)");
  for (const auto& pattern : realms) {
    if (!pattern.is_string())
      return refuse(token_errc::malformed, "token's \"realms\" holds a non-string");
    claims.realm_patterns.push_back(pattern.get<std::string>());
  }
  errno = 0;
  const long expires = jwt_get_grant_int(jwt, "exp");
  if (errno != 0 || expires <= 0)
    return refuse(token_errc::malformed, "token has no numeric \"exp\" claim");
  claims.expires_at = static_cast<std::uint64_t>(expires);
  if (claims.expires_at <= now) return refuse(token_errc::expired, "token expired");
  errno = 0;
  const long not_before = jwt_get_grant_int(jwt, "nbf");
  if (errno == 0 && not_before > 0 && static_cast<std::uint64_t>(not_before) > now)
    return refuse(token_errc::not_yet_valid, "token is not valid yet (\"nbf\")");
  token_verification v;
  v.claims = std::move(claims);
  return v;
}

}  // namespace

std::string issue_token(const token_secret& secret, const token_claims& claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("issue_token: out of memory");
  jwt_handle jwt(raw);
  const nlohmann::json realms = {{"realms", claims.realm_patterns}};
  if (jwt_add_grant(jwt.get(), "sub", claims.user_id.c_str()) != 0 ||
      jwt_add_grants_json(jwt.get(), realms.dump().c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.expires_at)) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256,
                  reinterpret_cast<const unsigned char*>(secret.bytes().data()),
                  static_cast<int>(secret.bytes().size())) != 0)
    throw std::runtime_error("issue_token: the claims cannot be encoded (an empty user id?)");
  const c_string token(jwt_encode_str(jwt.get()));
  if (!token) throw std::runtime_error("issue_token: signing failed");
  return token.get();
}

std::optional<token_public_key> token_public_key::from_pem(std::string pem, std::string& why) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!key) {
    why = "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
    return std::nullopt;
  }
  switch (EVP_PKEY_base_id(key.get())) {
    case EVP_PKEY_RSA:
      return token_public_key(std::move(pem), family::rsa);
    case EVP_PKEY_EC:
      return token_public_key(std::move(pem), family::ec);
    default:
      why =
          "the key is neither RSA (RS256/384/512) nor EC (ES256/384/512); libjwt 1.10 "
          "(Debian 12) verifies no other JWT algorithm";
      return std::nullopt;
  }
}

std::optional<token_public_key> token_public_key::from_file(const std::string& path,
                                                            std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "cannot read public key file '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream content;
  content << in.rdbuf();
  auto key = from_pem(content.str(), why);
  if (!key) why = "public key file '" + path + "': " + why;
  return key;
}

token_verifier::token_verifier(token_secret secret) : secret_(std::move(secret)) {}

void token_verifier::add_public_key(token_public_key key) {
  public_keys_.push_back(std::move(key));
}

token_verification token_verifier::verify(std::string_view token,
                                          std::uint64_t now_unix_seconds) const {
  if (token.empty()) return refuse(token_errc::missing, "no token");
  if (token.size() > max_token_text_bytes) return refuse(token_errc::malformed, "token too long");
  const auto alg_name = header_algorithm(token);
  if (!alg_name)
    return refuse(token_errc::malformed, "not a JWT (three base64url parts, a JSON header)");
  const auto choice = accepted_algorithm(*alg_name);
  if (!choice)
    return refuse(token_errc::unsupported_algorithm,
                  "JWT algorithm '" + alg_name->substr(0, 16) + "' is not accepted");
  const std::string text(token);
  jwt_handle jwt;
  if (!choice->key_family) {
    if (secret_) jwt = decode_with(text, secret_->bytes(), choice->alg);
  } else {
    for (const auto& key : public_keys_) {
      if (key.key_family() != *choice->key_family) continue;
      if ((jwt = decode_with(text, key.pem(), choice->alg))) break;
    }
  }
  if (!jwt) return refuse(token_errc::bad_signature, "token signature does not verify");
  return read_claims(jwt.get(), now_unix_seconds);
}

token_verification verify_token(const token_secret& secret, std::string_view token,
                                std::uint64_t now_unix_seconds) {
  return token_verifier(secret).verify(token, now_unix_seconds);
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
