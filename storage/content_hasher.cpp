#include "storage/content_hasher.hpp"

#include <openssl/evp.h>

#include <new>

#include "storage/record_codec.hpp"

namespace actorsync::storage {

content_hasher::content_hasher() : context_(EVP_MD_CTX_new()) {
  if (context_ == nullptr || EVP_DigestInit_ex(context_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_);
    throw std::bad_alloc();
  }
}

content_hasher::~content_hasher() {
  EVP_MD_CTX_free(context_);
}

void content_hasher::feed(const std::string& bytes) {
  EVP_DigestUpdate(context_, bytes.data(), bytes.size());
}

void content_hasher::add_object(std::string_view collection, std::string_view object_id) {
  std::string bytes = "O";
  codec::put_varint(bytes, collection.size());
  bytes.append(collection);
  codec::put_varint(bytes, object_id.size());
  bytes.append(object_id);
  feed(bytes);
}

void content_hasher::add_field(std::string_view name, const protocol::value& value) {
  std::string bytes = "F";
  codec::put_varint(bytes, name.size());
  bytes.append(name);
  codec::put_value(bytes, value);
  feed(bytes);
}

std::string content_hasher::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_, digest, &size);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace actorsync::storage
