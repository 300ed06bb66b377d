#include "storage/record_codec.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>
#include <variant>

namespace actorsync::storage::codec {

namespace {

enum class value_tag : std::uint8_t {
  nil = 0,
  no = 1,
  yes = 2,
  integer = 3,
  real = 4,
  text = 5,
  bin = 6
};

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace

void put_fixed64_be(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void put_fixed32_be(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::uint64_t get_fixed64_be(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < in.size(); ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  }
  return v;
}

std::uint32_t get_fixed32_be(std::string_view in) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4 && i < in.size(); ++i) {
    v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  }
  return v;
}

void put_escaped(std::string& out, std::string_view name) {
  for (char ch : name) {
    out.push_back(ch);
    if (ch == '\0') out.push_back('\xff');
  }
  out.push_back('\0');
  out.push_back('\x01');
}

std::optional<std::string> get_escaped(std::string_view& in) {
  std::string name;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\0') {
      name.push_back(in[i]);
      continue;
    }
    if (i + 1 >= in.size()) return std::nullopt;
    if (in[i + 1] == '\x01') {
      in.remove_prefix(i + 2);
      return name;
    }
    if (in[i + 1] != '\xff') return std::nullopt;
    name.push_back('\0');
    ++i;
  }
  return std::nullopt;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_stamp(std::string& out, const merge::stamp& s) {
  put_varint(out, s.timestamp);
  put_varint(out, s.origin);
  put_varint(out, s.client_version);
  put_varint(out, s.index);
}

void put_value(std::string& out, const protocol::value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out.push_back(static_cast<char>(value_tag::nil));
        } else if constexpr (std::is_same_v<T, bool>) {
          out.push_back(static_cast<char>(x ? value_tag::yes : value_tag::no));
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out.push_back(static_cast<char>(value_tag::integer));
          put_varint(out, zigzag(x));
        } else if constexpr (std::is_same_v<T, double>) {
          out.push_back(static_cast<char>(value_tag::real));
          put_fixed64_be(out, std::bit_cast<std::uint64_t>(x));
        } else if constexpr (std::is_same_v<T, std::string>) {
          out.push_back(static_cast<char>(value_tag::text));
          put_varint(out, x.size());
          out.append(x);
        } else {
          out.push_back(static_cast<char>(value_tag::bin));
          put_varint(out, x.size());
          out.append(reinterpret_cast<const char*>(x.data()), x.size());
        }
      },
      v);
}

bool reader::get_varint(std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (rest_.empty()) return false;
    const auto byte = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool reader::get_stamp(merge::stamp& s) {
  std::uint64_t index = 0;
  if (!get_varint(s.timestamp) || !get_varint(s.origin) || !get_varint(s.client_version) ||
      !get_varint(index) || index > std::numeric_limits<std::uint32_t>::max()) {
    return false;
  }
  s.index = static_cast<std::uint32_t>(index);
  return true;
}

bool reader::get_bytes(std::size_t n, std::string_view& out) {
  if (rest_.size() < n) return false;
  out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

bool reader::get_value(protocol::value& v) {
  std::string_view tag_byte;
  if (!get_bytes(1, tag_byte)) return false;
  std::uint64_t n = 0;
  std::string_view bytes;
  switch (static_cast<value_tag>(tag_byte[0])) {
    case value_tag::nil:
      v = std::monostate{};
      return true;
    case value_tag::no:
      v = false;
      return true;
    case value_tag::yes:
      v = true;
      return true;
    case value_tag::integer:
      if (!get_varint(n)) return false;
      v = unzigzag(n);
      return true;
    case value_tag::real:
      if (!get_bytes(8, bytes)) return false;
      v = std::bit_cast<double>(get_fixed64_be(bytes));
      return true;
    case value_tag::text:
      if (!get_varint(n) || !get_bytes(n, bytes)) return false;
      v = std::string(bytes);
      return true;
    case value_tag::bin:
      if (!get_varint(n) || !get_bytes(n, bytes)) return false;
      v = protocol::binary(bytes.begin(), bytes.end());
      return true;
  }
  return false;
}

std::string encode_object(const merge::object_state& object) {
  std::string out;
  put_stamp(out, object.created);
  put_stamp(out, object.erased);
  return out;
}

std::optional<merge::object_state> decode_object(std::string_view bytes) {
  reader in(bytes);
  merge::object_state object;
  if (!in.get_stamp(object.created) || !in.get_stamp(object.erased) || !in.at_end()) {
    return std::nullopt;
  }
  return object;
}

std::string encode_field(const merge::field_state& field) {
  std::string out;
  out.push_back(field.has_set ? '\x01' : '\x00');
  if (field.has_set) {
    put_stamp(out, field.set_at);
    put_value(out, field.set_value);
  }
  put_varint(out, field.adds.size());
  for (const auto& add : field.adds) {
    put_stamp(out, add.at);
    put_varint(out, zigzag(add.delta));
  }
  return out;
}

std::optional<merge::field_state> decode_field(std::string_view bytes) {
  reader in(bytes);
  merge::field_state field;
  std::string_view flag;
  if (!in.get_bytes(1, flag) || (flag[0] != '\x00' && flag[0] != '\x01')) return std::nullopt;
  field.has_set = flag[0] == '\x01';
  if (field.has_set && (!in.get_stamp(field.set_at) || !in.get_value(field.set_value))) {
    return std::nullopt;
  }
  std::uint64_t count = 0;
  if (!in.get_varint(count) || count > bytes.size()) return std::nullopt;
  field.adds.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    merge::pending_add add;
    std::uint64_t delta = 0;
    if (!in.get_stamp(add.at) || !in.get_varint(delta)) return std::nullopt;
    add.delta = unzigzag(delta);
    field.adds.push_back(add);
  }
  if (!in.at_end()) return std::nullopt;
  return field;
}

}  // namespace actorsync::storage::codec
