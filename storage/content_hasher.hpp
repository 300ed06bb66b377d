// Internal: SHA-256 (OpenSSL EVP) over the canonical serialization of visible content. Callers
// feed objects and their fields in key order; the serialization is length-prefixed and typed,
// so two different contents never feed the same bytes.
#pragma once

#include <string>
#include <string_view>

#include <actorsync/protocol/messages.hpp>

struct evp_md_ctx_st;

namespace actorsync::storage {

class content_hasher {
 public:
  content_hasher();
  ~content_hasher();
  content_hasher(const content_hasher&) = delete;
  content_hasher& operator=(const content_hasher&) = delete;

  void add_object(std::string_view collection, std::string_view object_id);
  void add_field(std::string_view name, const protocol::value& value);
  /// Lower-case hex of the digest; the hasher is spent afterwards.
  std::string finish_hex();

 private:
  void feed(const std::string& bytes);
  evp_md_ctx_st* context_;
};

}  // namespace actorsync::storage
