#include "cluster/pg_arrays.hpp"

namespace actorsync::cluster {

void array_literal::separate() {
  if (count_++ > 0) body_ += ',';
}

void array_literal::add_text(std::string_view text) {
  separate();
  body_ += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') body_ += '\\';
    body_ += c;
  }
  body_ += '"';
}

void array_literal::add_number(std::uint64_t value) {
  separate();
  body_ += std::to_string(value);
}

void array_literal::add_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  separate();
  body_.reserve(body_.size() + 2 * bytes.size() + 2);
  body_ += '"';  // quoted: an empty element must still be an element
  for (const unsigned char c : bytes) {
    body_ += digits[c >> 4];
    body_ += digits[c & 0xf];
  }
  body_ += '"';
}

}  // namespace actorsync::cluster
