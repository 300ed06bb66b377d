// Internal: the byte layout of stored records and keys (storage/README.md describes it).
// Small hand-written encodings so that records stay compact and decoding is bounds-checked:
// a record that does not decode is reported as corruption, never read past its end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/merge.hpp"

namespace actorsync::storage::codec {

// ---- keys -----------------------------------------------------------------------------------

/// Appends `v` as 8 bytes big-endian, so that numeric order is byte order.
void put_fixed64_be(std::string& out, std::uint64_t v);
void put_fixed32_be(std::string& out, std::uint32_t v);
std::uint64_t get_fixed64_be(std::string_view in);
std::uint32_t get_fixed32_be(std::string_view in);

/// Appends a name in an order-preserving, prefix-free form: 0x00 becomes 0x00 0xff and the name
/// ends with 0x00 0x01. Keys built from escaped names sort like the raw name tuples.
void put_escaped(std::string& out, std::string_view name);
/// Reads one escaped name from the front of `in`, advancing it; nullopt when malformed.
std::optional<std::string> get_escaped(std::string_view& in);

// ---- values ---------------------------------------------------------------------------------

void put_varint(std::string& out, std::uint64_t v);
void put_stamp(std::string& out, const merge::stamp& s);
void put_value(std::string& out, const protocol::value& v);

/// A bounds-checked reader over one record; every get_* returns false once anything is wrong.
class reader {
 public:
  explicit reader(std::string_view bytes) : rest_(bytes) {}
  bool get_varint(std::uint64_t& v);
  bool get_stamp(merge::stamp& s);
  bool get_value(protocol::value& v);
  bool get_bytes(std::size_t n, std::string_view& out);
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// ---- records --------------------------------------------------------------------------------

std::string encode_object(const merge::object_state& object);
std::optional<merge::object_state> decode_object(std::string_view bytes);
std::string encode_field(const merge::field_state& field);
std::optional<merge::field_state> decode_field(std::string_view bytes);

}  // namespace actorsync::storage::codec
