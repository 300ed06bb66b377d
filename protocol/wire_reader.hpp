// Internal to protocol/: a schema-driven msgpack reader over one frame. It reads exactly the
// msgpack types the protocol uses, straight into typed fields, and refuses everything else.
// Why not msgpack::unpack: that builds a generic object tree first, allocating 24 bytes per
// declared array element before the elements exist, and reports truncation as a size overflow
// when limits are tight. Reading against the schema bounds every allocation by bytes actually
// present, rejects maps, ext types and nesting bombs at their first byte, and is faster.
// Encoding still goes through msgpack-c's packer; the fuzzer cross-checks both directions.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include <actorsync/protocol/limits.hpp>
#include "protocol/codec.hpp"

namespace actorsync::protocol::detail {

// Decode failures unwind to the public decode_* functions with this and never leave them.
struct decode_failure {
  codec_error error;
};

[[noreturn]] inline void fail(error_code code, std::string reason) {
  throw decode_failure{{code, std::move(reason), 0}};
}

class wire_reader {
 public:
  explicit wire_reader(std::span<const std::uint8_t> bytes)
      : pos_(bytes.data()), end_(bytes.data() + bytes.size()) {}

  bool at_end() const { return pos_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - pos_); }

  /// An array header whose elements must still fit in the frame (each takes at least a byte).
  std::uint32_t read_array(const char* what) {
    const auto count = read_array_count(what);
    if (count > remaining()) truncated(what);
    return count;
  }

  /// A variable-length array of at most `max` elements: more is limits_exceeded, even when
  /// the frame would also be too short for them.
  std::uint32_t read_list(std::size_t max, const char* what) {
    const auto count = read_array_count(what);
    if (count > max) {
      fail(error_code::limits_exceeded, std::string(what) + " has " + std::to_string(count) +
                                            " elements, more than the limit " +
                                            std::to_string(max));
    }
    if (count > remaining()) truncated(what);
    return count;
  }

  /// An array header with exactly `count` elements.
  void expect_array(std::uint32_t count, const char* what) {
    const auto actual = read_array(what);
    if (actual != count) {
      fail(error_code::bad_syntax, std::string(what) + " has " + std::to_string(actual) +
                                       " elements, expected " + std::to_string(count));
    }
  }

  std::uint64_t read_uint(const char* what) {
    const std::uint8_t tag = peek(what);
    if (tag <= 0x7f) {
      ++pos_;
      return tag;
    }
    switch (tag) {
      case 0xcc:
        return read_fixed<std::uint8_t>(what);
      case 0xcd:
        return read_fixed<std::uint16_t>(what);
      case 0xce:
        return read_fixed<std::uint32_t>(what);
      case 0xcf:
        return read_fixed<std::uint64_t>(what);
      case 0xd0:
      case 0xd1:
      case 0xd2:
      case 0xd3: {
        // Signed encodings of non-negative numbers are valid msgpack; accept them.
        const auto v = read_signed(tag, what);
        if (v < 0) fail(error_code::bad_syntax, std::string(what) + " is negative");
        return static_cast<std::uint64_t>(v);
      }
      default:
        if (tag >= 0xe0) fail(error_code::bad_syntax, std::string(what) + " is negative");
        wrong_type(tag, "an unsigned integer", what);
    }
  }

  std::int64_t read_int(const char* what) {
    const std::uint8_t tag = peek(what);
    if (tag <= 0x7f || tag >= 0xe0) {
      ++pos_;
      return static_cast<std::int8_t>(tag);
    }
    if (tag >= 0xd0 && tag <= 0xd3) return read_signed(tag, what);
    if (tag >= 0xcc && tag <= 0xcf) {
      const auto v = read_uint(what);
      if (v > static_cast<std::uint64_t>(INT64_MAX)) {
        fail(error_code::bad_syntax, std::string(what) + " is outside the int64 range");
      }
      return static_cast<std::int64_t>(v);
    }
    wrong_type(tag, "an integer", what);
  }

  bool read_bool(const char* what) {
    const std::uint8_t tag = peek(what);
    if (tag != 0xc2 && tag != 0xc3) wrong_type(tag, "a boolean", what);
    ++pos_;
    return tag == 0xc3;
  }

  /// A str of at most `max` bytes, viewed in place (valid while the frame is).
  std::string_view read_str(std::size_t max, const char* what) {
    const std::uint8_t tag = peek(what);
    std::uint32_t size = 0;
    if (tag >= 0xa0 && tag <= 0xbf) {
      ++pos_;
      size = tag & 0x1fu;
    } else if (tag == 0xd9) {
      size = read_length<std::uint8_t>(what);
    } else if (tag == 0xda) {
      size = read_length<std::uint16_t>(what);
    } else if (tag == 0xdb) {
      size = read_length<std::uint32_t>(what);
    } else {
      wrong_type(tag, "a string", what);
    }
    return {reinterpret_cast<const char*>(take_body(size, max, what)), size};
  }

  /// A field value: nil, bool, int64, float32/64 (as double), str or bin.
  value read_value(const char* what) {
    const std::uint8_t tag = peek(what);
    switch (tag) {
      case 0xc0:
        ++pos_;
        return std::monostate{};
      case 0xc2:
      case 0xc3:
        return read_bool(what);
      case 0xca: {
        const auto bits = read_fixed<std::uint32_t>(what);
        float f;
        std::memcpy(&f, &bits, sizeof f);
        return static_cast<double>(f);
      }
      case 0xcb: {
        const auto bits = read_fixed<std::uint64_t>(what);
        double d;
        std::memcpy(&d, &bits, sizeof d);
        return d;
      }
      case 0xc4:
        return read_bin(read_length<std::uint8_t>(what), what);
      case 0xc5:
        return read_bin(read_length<std::uint16_t>(what), what);
      case 0xc6:
        return read_bin(read_length<std::uint32_t>(what), what);
      default:
        if ((tag >= 0xa0 && tag <= 0xbf) || (tag >= 0xd9 && tag <= 0xdb)) {
          return std::string(read_str(limits::max_value_bytes, what));
        }
        if (tag <= 0x7f || tag >= 0xe0 || (tag >= 0xcc && tag <= 0xd3)) return read_int(what);
        wrong_type(tag, "nil, bool, int, float, str or bin", what);
    }
  }

 private:
  std::uint8_t peek(const char* what) const {
    if (pos_ == end_) truncated(what);
    return *pos_;
  }

  [[noreturn]] static void truncated(const char* what) {
    fail(error_code::bad_syntax, std::string("truncated frame: ") + what + " runs past its end");
  }

  // The type a leading byte announces, for error messages.
  static const char* type_name(std::uint8_t tag) {
    if ((tag >= 0x80 && tag <= 0x8f) || tag == 0xde || tag == 0xdf) return "a map";
    if ((tag >= 0x90 && tag <= 0x9f) || tag == 0xdc || tag == 0xdd) return "an array";
    if ((tag >= 0xa0 && tag <= 0xbf) || (tag >= 0xd9 && tag <= 0xdb)) return "a string";
    if (tag >= 0xc4 && tag <= 0xc6) return "a binary";
    if ((tag >= 0xc7 && tag <= 0xc9) || (tag >= 0xd4 && tag <= 0xd8)) return "an ext type";
    if (tag == 0xca || tag == 0xcb) return "a float";
    if (tag == 0xc0) return "nil";
    if (tag == 0xc2 || tag == 0xc3) return "a boolean";
    if (tag == 0xc1) return "the never-used byte 0xc1";
    return "an integer";
  }

  [[noreturn]] static void wrong_type(std::uint8_t tag, const char* expected, const char* what) {
    fail(error_code::bad_syntax,
         std::string(what) + " is " + type_name(tag) + ", expected " + expected);
  }

  std::uint32_t read_array_count(const char* what) {
    const std::uint8_t tag = peek(what);
    if (tag >= 0x90 && tag <= 0x9f) {
      ++pos_;
      return tag & 0x0fu;
    }
    if (tag == 0xdc) return read_length<std::uint16_t>(what);
    if (tag == 0xdd) return read_length<std::uint32_t>(what);
    wrong_type(tag, "an array", what);
  }

  // Big-endian fixed-width payload after the tag byte.
  template <class T>
  T read_fixed(const char* what) {
    if (remaining() < 1 + sizeof(T)) truncated(what);
    ++pos_;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = (v << 8) | pos_[i];
    pos_ += sizeof(T);
    return static_cast<T>(v);
  }

  template <class T>
  std::uint32_t read_length(const char* what) {
    return static_cast<std::uint32_t>(read_fixed<T>(what));
  }

  std::int64_t read_signed(std::uint8_t tag, const char* what) {
    switch (tag) {
      case 0xd0:
        return static_cast<std::int8_t>(read_fixed<std::uint8_t>(what));
      case 0xd1:
        return static_cast<std::int16_t>(read_fixed<std::uint16_t>(what));
      case 0xd2:
        return static_cast<std::int32_t>(read_fixed<std::uint32_t>(what));
      default:
        return static_cast<std::int64_t>(read_fixed<std::uint64_t>(what));
    }
  }

  const std::uint8_t* take_body(std::uint32_t size, std::size_t max, const char* what) {
    if (size > max) {
      fail(error_code::limits_exceeded, std::string(what) + " is " + std::to_string(size) +
                                            " bytes, longer than the limit " + std::to_string(max));
    }
    if (size > remaining()) truncated(what);
    const auto* body = pos_;
    pos_ += size;
    return body;
  }

  binary read_bin(std::uint32_t size, const char* what) {
    const auto* body = take_body(size, limits::max_value_bytes, what);
    return binary(body, body + size);
  }

  const std::uint8_t* pos_;
  const std::uint8_t* end_;
};

}  // namespace actorsync::protocol::detail
