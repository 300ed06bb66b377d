// Internal to cluster/. PostgreSQL array literals ('{...}' text), so that one statement carries
// the rows of a whole group commit (unnest($1::bigint[], ...)) instead of one round trip per row.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace actorsync::cluster {

/// Builds one array literal element by element.
class array_literal {
 public:
  /// A text element, quoted and escaped (any bytes but NUL).
  void add_text(std::string_view text);
  /// A bigint element; values above INT64_MAX are the caller's bug (versions never get there).
  void add_number(std::uint64_t value);
  /// Bytes as a hex text element, for decode(x, 'hex') on the server.
  void add_hex(std::string_view bytes);
  bool empty() const { return count_ == 0; }
  /// The literal, e.g. {"a","b"} or {1,2}.
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void separate();
  std::string body_;
  std::size_t count_ = 0;
};

}  // namespace actorsync::cluster
