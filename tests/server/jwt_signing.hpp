// Test helper: an identity provider's key pair and JWTs signed with it through libjwt, as a
// provider would sign them.
#pragma once

#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

namespace actorsync::server {

struct key_pair {
  std::string private_pem;
  std::string public_pem;
};

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const auto size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// A fresh RSA-2048 or P-256 key pair in PEM, as an identity provider would hold.
inline key_pair generate(int type) {
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
inline std::string sign(jwt_alg_t alg, const std::string& key, const std::string& claims_json) {
  jwt_t* raw = nullptr;
  jwt_new(&raw);
  std::unique_ptr<jwt_t, decltype(&jwt_free)> jwt(raw, &jwt_free);
  EXPECT_EQ(jwt_add_grants_json(jwt.get(), claims_json.c_str()), 0);
  const auto* bytes = key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data());
  EXPECT_EQ(jwt_set_alg(jwt.get(), alg, bytes, static_cast<int>(key.size())), 0);
  std::unique_ptr<char, decltype(&std::free)> text(jwt_encode_str(jwt.get()), &std::free);
  return text ? text.get() : "";
}

}  // namespace actorsync::server
