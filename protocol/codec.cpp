#include "protocol/codec.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <limits>
#include <type_traits>

#include "protocol/limits.hpp"

namespace actorsync::protocol {
namespace {

// ---- encoding --------------------------------------------------------------------------------

// msgpack::packer writes through any type with write(const char*, size_t).
struct buffer_writer {
  byte_buffer& out;
  void write(const char* data, std::size_t size) {
    out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(data),
               reinterpret_cast<const std::uint8_t*>(data) + size);
  }
};

using packer = msgpack::packer<buffer_writer>;

void pack_string(packer& p, const std::string& s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

void pack_value(packer& p, const value& v) {
  std::visit(
      [&p](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          p.pack_nil();
        } else if constexpr (std::is_same_v<T, bool>) {
          x ? p.pack_true() : p.pack_false();
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          p.pack_int64(x);
        } else if constexpr (std::is_same_v<T, double>) {
          p.pack_double(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          pack_string(p, x);
        } else {
          p.pack_bin(static_cast<std::uint32_t>(x.size()));
          p.pack_bin_body(reinterpret_cast<const char*>(x.data()),
                          static_cast<std::uint32_t>(x.size()));
        }
      },
      v);
}

void pack_instruction(packer& p, const instruction& in) {
  std::visit(
      [&p](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, create_object>) {
          p.pack_array(3);
          p.pack_uint8(static_cast<std::uint8_t>(instruction_type::create_object));
          pack_string(p, x.collection);
          pack_string(p, x.object_id);
        } else if constexpr (std::is_same_v<T, erase_object>) {
          p.pack_array(3);
          p.pack_uint8(static_cast<std::uint8_t>(instruction_type::erase_object));
          pack_string(p, x.collection);
          pack_string(p, x.object_id);
        } else if constexpr (std::is_same_v<T, set_field>) {
          p.pack_array(5);
          p.pack_uint8(static_cast<std::uint8_t>(instruction_type::set_field));
          pack_string(p, x.collection);
          pack_string(p, x.object_id);
          pack_string(p, x.field);
          pack_value(p, x.new_value);
        } else {
          p.pack_array(5);
          p.pack_uint8(static_cast<std::uint8_t>(instruction_type::add_integer));
          pack_string(p, x.collection);
          pack_string(p, x.object_id);
          pack_string(p, x.field);
          p.pack_int64(x.delta);
        }
      },
      in);
}

void pack_changeset(packer& p, const changeset& c) {
  p.pack_array(6);
  p.pack_uint64(c.client_version);
  p.pack_uint64(c.last_integrated_server_version);
  p.pack_uint64(c.server_version);
  p.pack_uint64(c.origin_file_ident);
  p.pack_uint64(c.origin_timestamp);
  p.pack_array(static_cast<std::uint32_t>(c.instructions.size()));
  for (const auto& in : c.instructions) pack_instruction(p, in);
}

void pack_changesets(packer& p, const std::vector<changeset>& changesets) {
  p.pack_array(static_cast<std::uint32_t>(changesets.size()));
  for (const auto& c : changesets) pack_changeset(p, c);
}

void pack_header(packer& p, message_type type, std::uint32_t fields) {
  p.pack_array(fields + 1);
  p.pack_uint8(static_cast<std::uint8_t>(type));
}

struct message_packer {
  packer& p;

  void operator()(const bind_message& m) {
    pack_header(p, message_type::bind, 3);
    p.pack_uint64(m.session);
    pack_string(p, m.realm_path);
    pack_string(p, m.token);
  }
  void operator()(const client_ident_message& m) {
    pack_header(p, message_type::client_ident, 5);
    p.pack_uint64(m.session);
    p.pack_uint64(m.client_file_ident);
    p.pack_uint64(m.file_ident_salt);
    p.pack_uint64(m.server_version);
    p.pack_uint64(m.last_integrated_client_version);
  }
  void operator()(const upload_message& m) {
    pack_header(p, message_type::upload, 4);
    p.pack_uint64(m.session);
    p.pack_uint64(m.client_version);
    p.pack_uint64(m.last_integrated_server_version);
    pack_changesets(p, m.changesets);
  }
  void operator()(const client_mark_message& m) {
    pack_header(p, message_type::client_mark, 2);
    p.pack_uint64(m.session);
    p.pack_uint64(m.request);
  }
  void operator()(const unbind_message& m) {
    pack_header(p, message_type::unbind, 1);
    p.pack_uint64(m.session);
  }
  void operator()(const ping_message& m) {
    pack_header(p, message_type::ping, 1);
    p.pack_uint64(m.timestamp);
  }
  void operator()(const server_ident_message& m) {
    pack_header(p, message_type::server_ident, 3);
    p.pack_uint64(m.session);
    p.pack_uint64(m.client_file_ident);
    p.pack_uint64(m.file_ident_salt);
  }
  void operator()(const download_message& m) {
    pack_header(p, message_type::download, 5);
    p.pack_uint64(m.session);
    p.pack_uint64(m.server_version);
    p.pack_uint64(m.last_integrated_client_version);
    p.pack_uint64(m.downloadable_bytes);
    pack_changesets(p, m.changesets);
  }
  void operator()(const server_mark_message& m) {
    pack_header(p, message_type::server_mark, 2);
    p.pack_uint64(m.session);
    p.pack_uint64(m.request);
  }
  void operator()(const unbound_message& m) {
    pack_header(p, message_type::unbound, 1);
    p.pack_uint64(m.session);
  }
  void operator()(const error_message& m) {
    pack_header(p, message_type::error, 4);
    p.pack_uint16(m.code);
    pack_string(p, m.message);
    m.try_again ? p.pack_true() : p.pack_false();
    p.pack_uint64(m.session);
  }
  void operator()(const pong_message& m) {
    pack_header(p, message_type::pong, 1);
    p.pack_uint64(m.timestamp);
  }
};

// ---- decoding --------------------------------------------------------------------------------

// Conversion failures unwind with this; it never leaves this file.
struct decode_failure {
  codec_error error;
};

[[noreturn]] void fail(error_code code, std::string reason) {
  throw decode_failure{{code, std::move(reason)}};
}

const msgpack::object_array& as_array(const msgpack::object& o, const char* what) {
  if (o.type != msgpack::type::ARRAY) fail(error_code::bad_syntax, std::string(what) + " is not an array");
  return o.via.array;
}

// Reads a frame's or sub-object's array with exactly `n` elements.
const msgpack::object* expect_array(const msgpack::object& o, std::uint32_t n, const char* what) {
  const auto& a = as_array(o, what);
  if (a.size != n) {
    fail(error_code::bad_syntax, std::string(what) + " has " + std::to_string(a.size) +
                                     " elements, expected " + std::to_string(n));
  }
  return a.ptr;
}

std::uint64_t read_uint(const msgpack::object& o, const char* what) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) {
    fail(error_code::bad_syntax, std::string(what) + " is not an unsigned integer");
  }
  return o.via.u64;
}

std::int64_t read_int(const msgpack::object& o, const char* what) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(error_code::bad_syntax, std::string(what) + " is outside the int64 range");
    }
    return static_cast<std::int64_t>(o.via.u64);
  }
  fail(error_code::bad_syntax, std::string(what) + " is not an integer");
}

std::string read_string(const msgpack::object& o, std::size_t max_bytes, const char* what) {
  if (o.type != msgpack::type::STR) fail(error_code::bad_syntax, std::string(what) + " is not a string");
  if (o.via.str.size > max_bytes) {
    fail(error_code::limits_exceeded, std::string(what) + " is longer than " +
                                          std::to_string(max_bytes) + " bytes");
  }
  return std::string(o.via.str.ptr, o.via.str.size);
}

std::string read_name(const msgpack::object& o, const char* what) {
  auto s = read_string(o, limits::max_name_bytes, what);
  if (s.empty()) fail(error_code::bad_syntax, std::string(what) + " is empty");
  return s;
}

session_ident read_session(const msgpack::object& o) {
  auto ident = read_uint(o, "session ident");
  if (ident == 0) fail(error_code::bad_syntax, "session ident 0 is reserved");
  return ident;
}

value read_value(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return std::monostate{};
    case msgpack::type::BOOLEAN:
      return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER:
      return read_int(o, "value");
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return o.via.f64;
    case msgpack::type::STR:
      return read_string(o, limits::max_value_bytes, "string value");
    case msgpack::type::BIN: {
      if (o.via.bin.size > limits::max_value_bytes) {
        fail(error_code::limits_exceeded, "binary value is longer than the limit");
      }
      const auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      return binary(p, p + o.via.bin.size);
    }
    default:
      fail(error_code::bad_syntax, "value is not nil, bool, int, float, str or bin");
  }
}

instruction read_instruction(const msgpack::object& o) {
  const auto& a = as_array(o, "instruction");
  if (a.size == 0) fail(error_code::bad_syntax, "instruction is empty");
  auto tag = read_uint(a.ptr[0], "instruction type");
  switch (static_cast<instruction_type>(tag)) {
    case instruction_type::create_object: {
      auto* f = expect_array(o, 3, "create_object");
      return create_object{read_name(f[1], "collection"), read_name(f[2], "object id")};
    }
    case instruction_type::erase_object: {
      auto* f = expect_array(o, 3, "erase_object");
      return erase_object{read_name(f[1], "collection"), read_name(f[2], "object id")};
    }
    case instruction_type::set_field: {
      auto* f = expect_array(o, 5, "set_field");
      return set_field{read_name(f[1], "collection"), read_name(f[2], "object id"),
                       read_name(f[3], "field"), read_value(f[4])};
    }
    case instruction_type::add_integer: {
      auto* f = expect_array(o, 5, "add_integer");
      return add_integer{read_name(f[1], "collection"), read_name(f[2], "object id"),
                         read_name(f[3], "field"), read_int(f[4], "delta")};
    }
  }
  fail(error_code::bad_syntax, "unknown instruction type " + std::to_string(tag));
}

changeset read_changeset(const msgpack::object& o) {
  auto* f = expect_array(o, 6, "changeset");
  changeset c;
  c.client_version = read_uint(f[0], "client version");
  c.last_integrated_server_version = read_uint(f[1], "last integrated server version");
  c.server_version = read_uint(f[2], "server version");
  c.origin_file_ident = read_uint(f[3], "origin file ident");
  c.origin_timestamp = read_uint(f[4], "origin timestamp");
  const auto& ins = as_array(f[5], "instructions");
  if (ins.size > limits::max_instructions_per_changeset) {
    fail(error_code::limits_exceeded, "changeset has too many instructions");
  }
  c.instructions.reserve(ins.size);
  for (std::uint32_t i = 0; i < ins.size; ++i) c.instructions.push_back(read_instruction(ins.ptr[i]));
  if (c.client_version == 0) fail(error_code::bad_syntax, "changeset client version is 0");
  return c;
}

std::vector<changeset> read_changesets(const msgpack::object& o) {
  const auto& a = as_array(o, "changesets");
  if (a.size > limits::max_changesets_per_message) {
    fail(error_code::limits_exceeded, "message has too many changesets");
  }
  std::vector<changeset> out;
  out.reserve(a.size);
  for (std::uint32_t i = 0; i < a.size; ++i) out.push_back(read_changeset(a.ptr[i]));
  return out;
}

// Strings and binaries are copied once, into the typed message, not into msgpack's zone.
bool reference_bytes(msgpack::type::object_type, std::size_t, void*) { return true; }

// Unpacks one msgpack object from `bytes` with limits that make every allocation backed by
// the frame: no container can declare more elements than the frame has bytes.
template <class F>
auto unpack_checked(std::span<const std::uint8_t> bytes, F&& convert)
    -> decode_result<decltype(convert(std::declval<const msgpack::object&>()))> {
  if (bytes.empty()) return codec_error{error_code::bad_syntax, "empty frame"};
  if (bytes.size() > limits::max_frame_bytes) {
    return codec_error{error_code::limits_exceeded, "frame is larger than max_frame_bytes"};
  }
  const auto n = static_cast<std::size_t>(bytes.size());
  const auto elements = std::min(n, limits::max_changesets_per_message > limits::max_instructions_per_changeset
                                        ? limits::max_changesets_per_message
                                        : limits::max_instructions_per_changeset);
  msgpack::unpack_limit limit(elements, 0, std::min(n, limits::max_value_bytes),
                              std::min(n, limits::max_value_bytes), 0, limits::max_nesting_depth);
  try {
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), n, offset, reference_bytes, nullptr, limit);
    if (offset != n) return codec_error{error_code::bad_syntax, "trailing bytes after the message"};
    return convert(handle.get());
  } catch (const decode_failure& f) {
    return f.error;
  } catch (const msgpack::size_overflow& e) {
    return codec_error{error_code::limits_exceeded, std::string("msgpack limit exceeded: ") + e.what()};
  } catch (const msgpack::insufficient_bytes&) {
    return codec_error{error_code::bad_syntax, "truncated frame"};
  } catch (const std::bad_alloc&) {
    return codec_error{error_code::limits_exceeded, "frame needs too much memory"};
  } catch (const std::exception& e) {
    return codec_error{error_code::bad_syntax, std::string("not msgpack: ") + e.what()};
  }
}

const msgpack::object* read_header(const msgpack::object& o, std::uint32_t fields) {
  return expect_array(o, fields + 1, "message");
}

message_type frame_type(const msgpack::object& o) {
  const auto& a = as_array(o, "frame");
  if (a.size == 0) fail(error_code::bad_syntax, "frame is an empty array");
  if (a.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    fail(error_code::bad_syntax, "message type is not an unsigned integer");
  }
  return static_cast<message_type>(std::min<std::uint64_t>(a.ptr[0].via.u64, 255));
}

client_message convert_client(const msgpack::object& o) {
  auto type = frame_type(o);
  switch (type) {
    case message_type::bind: {
      auto* f = read_header(o, 3);
      bind_message m{read_session(f[1]), read_string(f[2], limits::max_realm_path_bytes, "realm path"),
                     read_string(f[3], limits::max_token_bytes, "token")};
      if (auto why = validate_realm_path(m.realm_path); !why.empty()) fail(error_code::bad_syntax, why);
      return m;
    }
    case message_type::client_ident: {
      auto* f = read_header(o, 5);
      return client_ident_message{read_session(f[1]), read_uint(f[2], "client file ident"),
                                  read_uint(f[3], "file ident salt"), read_uint(f[4], "server version"),
                                  read_uint(f[5], "last integrated client version")};
    }
    case message_type::upload: {
      auto* f = read_header(o, 4);
      upload_message m{read_session(f[1]), read_uint(f[2], "client version"),
                       read_uint(f[3], "last integrated server version"), read_changesets(f[4])};
      return m;
    }
    case message_type::client_mark: {
      auto* f = read_header(o, 2);
      return client_mark_message{read_session(f[1]), read_uint(f[2], "request ident")};
    }
    case message_type::unbind: {
      auto* f = read_header(o, 1);
      return unbind_message{read_session(f[1])};
    }
    case message_type::ping: {
      auto* f = read_header(o, 1);
      return ping_message{read_uint(f[1], "timestamp")};
    }
    default:
      fail(error_code::unknown_message,
           "unknown client message type " + std::to_string(static_cast<unsigned>(type)));
  }
}

server_message convert_server(const msgpack::object& o) {
  auto type = frame_type(o);
  switch (type) {
    case message_type::server_ident: {
      auto* f = read_header(o, 3);
      return server_ident_message{read_session(f[1]), read_uint(f[2], "client file ident"),
                                  read_uint(f[3], "file ident salt")};
    }
    case message_type::download: {
      auto* f = read_header(o, 5);
      return download_message{read_session(f[1]), read_uint(f[2], "server version"),
                              read_uint(f[3], "last integrated client version"),
                              read_uint(f[4], "downloadable bytes"), read_changesets(f[5])};
    }
    case message_type::server_mark: {
      auto* f = read_header(o, 2);
      return server_mark_message{read_session(f[1]), read_uint(f[2], "request ident")};
    }
    case message_type::unbound: {
      auto* f = read_header(o, 1);
      return unbound_message{read_session(f[1])};
    }
    case message_type::error: {
      auto* f = read_header(o, 4);
      auto code = read_uint(f[1], "error code");
      if (code > std::numeric_limits<std::uint16_t>::max()) fail(error_code::bad_syntax, "error code out of range");
      if (f[3].type != msgpack::type::BOOLEAN) fail(error_code::bad_syntax, "try_again is not a boolean");
      return error_message{static_cast<std::uint16_t>(code),
                           read_string(f[2], limits::max_error_message_bytes, "error message"),
                           f[3].via.boolean, read_uint(f[4], "session ident")};
    }
    case message_type::pong: {
      auto* f = read_header(o, 1);
      return pong_message{read_uint(f[1], "timestamp")};
    }
    default:
      fail(error_code::unknown_message,
           "unknown server message type " + std::to_string(static_cast<unsigned>(type)));
  }
}

}  // namespace

// ---- public ----------------------------------------------------------------------------------

void encode(const client_message& message, byte_buffer& out) {
  buffer_writer w{out};
  packer p(w);
  std::visit(message_packer{p}, message);
}

void encode(const server_message& message, byte_buffer& out) {
  buffer_writer w{out};
  packer p(w);
  std::visit(message_packer{p}, message);
}

decode_result<client_message> decode_client_message(std::span<const std::uint8_t> frame) {
  return unpack_checked(frame, [](const msgpack::object& o) { return convert_client(o); });
}

decode_result<server_message> decode_server_message(std::span<const std::uint8_t> frame) {
  return unpack_checked(frame, [](const msgpack::object& o) { return convert_server(o); });
}

void encode_changeset(const changeset& changeset, byte_buffer& out) {
  buffer_writer w{out};
  packer p(w);
  pack_changeset(p, changeset);
}

decode_result<changeset> decode_changeset(std::span<const std::uint8_t> bytes) {
  return unpack_checked(bytes, [](const msgpack::object& o) { return read_changeset(o); });
}

std::size_t encoded_size(const changeset& changeset) {
  byte_buffer scratch;
  encode_changeset(changeset, scratch);
  return scratch.size();
}

std::string validate(const instruction& in) {
  auto check_name = [](const std::string& s, const char* what) -> std::string {
    if (s.empty()) return std::string(what) + " is empty";
    if (s.size() > limits::max_name_bytes) return std::string(what) + " is too long";
    return {};
  };
  return std::visit(
      [&](const auto& x) -> std::string {
        if (auto why = check_name(x.collection, "collection"); !why.empty()) return why;
        if (auto why = check_name(x.object_id, "object id"); !why.empty()) return why;
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, set_field> || std::is_same_v<T, add_integer>) {
          if (auto why = check_name(x.field, "field"); !why.empty()) return why;
        }
        if constexpr (std::is_same_v<T, set_field>) {
          if (const auto* s = std::get_if<std::string>(&x.new_value); s && s->size() > limits::max_value_bytes) {
            return "string value is too long";
          }
          if (const auto* b = std::get_if<binary>(&x.new_value); b && b->size() > limits::max_value_bytes) {
            return "binary value is too long";
          }
        }
        return {};
      },
      in);
}

std::string validate(const changeset& c) {
  if (c.client_version == 0) return "changeset client version is 0";
  if (c.instructions.size() > limits::max_instructions_per_changeset) {
    return "changeset has too many instructions";
  }
  for (const auto& in : c.instructions) {
    if (auto why = validate(in); !why.empty()) return why;
  }
  return {};
}

std::string validate_realm_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return "realm path must start with '/'";
  if (path.size() > limits::max_realm_path_bytes) return "realm path is too long";
  if (path.size() > 1 && path.back() == '/') return "realm path must not end with '/'";
  if (path.find("//") != std::string_view::npos) return "realm path has an empty segment";
  for (char ch : path) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                    ch == '/' || ch == '_' || ch == '-' || ch == '.';
    if (!ok) return "realm path has a character outside [A-Za-z0-9/_.-]";
  }
  if (path.find("/.") != std::string_view::npos) return "realm path segment starts with '.'";
  return {};
}

bool is_known_error_code(std::uint16_t raw) {
  return to_string(static_cast<error_code>(raw)) != "unknown";
}

std::string_view to_string(error_code code) {
  switch (code) {
#define ACTORSYNC_ERROR_NAME(name) \
  case error_code::name:           \
    return #name;
    ACTORSYNC_ERROR_NAME(connection_closed)
    ACTORSYNC_ERROR_NAME(other_error)
    ACTORSYNC_ERROR_NAME(unknown_message)
    ACTORSYNC_ERROR_NAME(bad_syntax)
    ACTORSYNC_ERROR_NAME(limits_exceeded)
    ACTORSYNC_ERROR_NAME(wrong_protocol_version)
    ACTORSYNC_ERROR_NAME(bad_session_ident)
    ACTORSYNC_ERROR_NAME(reuse_of_session_ident)
    ACTORSYNC_ERROR_NAME(bad_message_order)
    ACTORSYNC_ERROR_NAME(pong_timeout)
    ACTORSYNC_ERROR_NAME(going_away)
    ACTORSYNC_ERROR_NAME(send_queue_overflow)
    ACTORSYNC_ERROR_NAME(connect_timeout)
    ACTORSYNC_ERROR_NAME(connection_lost)
    ACTORSYNC_ERROR_NAME(too_many_connections)
    ACTORSYNC_ERROR_NAME(session_closed)
    ACTORSYNC_ERROR_NAME(other_session_error)
    ACTORSYNC_ERROR_NAME(token_expired)
    ACTORSYNC_ERROR_NAME(bad_authentication)
    ACTORSYNC_ERROR_NAME(illegal_realm_path)
    ACTORSYNC_ERROR_NAME(permission_denied)
    ACTORSYNC_ERROR_NAME(bad_client_file_ident)
    ACTORSYNC_ERROR_NAME(bad_progress)
    ACTORSYNC_ERROR_NAME(bad_changeset)
    ACTORSYNC_ERROR_NAME(too_many_sessions)
    ACTORSYNC_ERROR_NAME(bad_client_version)
    ACTORSYNC_ERROR_NAME(server_busy)
#undef ACTORSYNC_ERROR_NAME
  }
  return "unknown";
}

}  // namespace actorsync::protocol
