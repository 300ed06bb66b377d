#include "protocol/codec.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include <actorsync/protocol/limits.hpp>
#include "protocol/wire_reader.hpp"

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

// Measures an encoding without producing it (encoded_size).
struct byte_counter {
  std::size_t bytes = 0;
  void write(const char*, std::size_t size) { bytes += size; }
};

using packer = msgpack::packer<buffer_writer>;

template <class Packer>
void pack_string(Packer& p, const std::string& s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

// Always float64. msgpack-c's pack_double writes whole numbers (1.0, -0.0) as integers, which
// would decode as int64 and change the value's type. pack_bin_body appends raw bytes.
template <class Packer>
void pack_float64(Packer& p, double d) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &d, sizeof d);
  char bytes[9];
  bytes[0] = static_cast<char>(0xcb);
  for (int i = 0; i < 8; ++i) bytes[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  p.pack_bin_body(bytes, sizeof bytes);
}

template <class Packer>
void pack_value(Packer& p, const value& v) {
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
          pack_float64(p, x);
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

// The header shared by every instruction: [type, collection, object id, ...].
template <class Packer, class T>
void pack_target(Packer& p, instruction_type type, std::uint32_t elements, const T& x) {
  p.pack_array(elements);
  p.pack_uint8(static_cast<std::uint8_t>(type));
  pack_string(p, x.collection);
  pack_string(p, x.object_id);
}

template <class Packer>
void pack_instruction(Packer& p, const instruction& in) {
  std::visit(
      [&p](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, create_object>) {
          pack_target(p, instruction_type::create_object, 3, x);
        } else if constexpr (std::is_same_v<T, erase_object>) {
          pack_target(p, instruction_type::erase_object, 3, x);
        } else if constexpr (std::is_same_v<T, set_field>) {
          pack_target(p, instruction_type::set_field, 5, x);
          pack_string(p, x.field);
          pack_value(p, x.new_value);
        } else {
          pack_target(p, instruction_type::add_integer, 5, x);
          pack_string(p, x.field);
          p.pack_int64(x.delta);
        }
      },
      in);
}

template <class Packer>
void pack_changeset(Packer& p, const changeset& c) {
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

using detail::fail;
using detail::wire_reader;

// Smallest encodings, to reserve no more elements than the remaining bytes could hold.
constexpr std::size_t min_instruction_bytes = 6;  // [1, "c", "o"]
constexpr std::size_t min_changeset_bytes = 7;    // [v, 0, 0, 0, 0, []]

// Names are read straight into the typed field: no temporary strings on the hot path.
void read_name(wire_reader& r, std::string& into, const char* what) {
  const auto s = r.read_str(limits::max_name_bytes, what);
  if (s.empty()) fail(error_code::bad_syntax, std::string(what) + " is empty");
  into.assign(s.data(), s.size());
}

session_ident read_session(wire_reader& r) {
  const auto ident = r.read_uint("session ident");
  if (ident == 0) fail(error_code::bad_syntax, "session ident 0 is reserved");
  return ident;
}

void expect_fields(std::uint32_t actual, std::uint32_t expected, const char* what) {
  if (actual != expected) {
    fail(error_code::bad_syntax, std::string(what) + " has " + std::to_string(actual) +
                                     " elements, expected " + std::to_string(expected));
  }
}

// Collection and object id, the first fields of every instruction.
template <class T>
void read_target(wire_reader& r, T& in) {
  read_name(r, in.collection, "collection");
  read_name(r, in.object_id, "object id");
}

// Appends the alternative T to `out` and returns it for filling in place.
template <class T>
T& emplace(std::vector<instruction>& out) {
  return std::get<T>(out.emplace_back(std::in_place_type<T>));
}

void read_instruction(wire_reader& r, std::vector<instruction>& out) {
  const auto size = r.read_array("instruction");
  if (size == 0) fail(error_code::bad_syntax, "instruction is an empty array");
  const auto tag = r.read_uint("instruction type");
  switch (tag) {
    case static_cast<std::uint8_t>(instruction_type::create_object):
      expect_fields(size, 3, "create_object");
      return read_target(r, emplace<create_object>(out));
    case static_cast<std::uint8_t>(instruction_type::erase_object):
      expect_fields(size, 3, "erase_object");
      return read_target(r, emplace<erase_object>(out));
    case static_cast<std::uint8_t>(instruction_type::set_field): {
      expect_fields(size, 5, "set_field");
      auto& in = emplace<set_field>(out);
      read_target(r, in);
      read_name(r, in.field, "field");
      in.new_value = r.read_value("field value");
      return;
    }
    case static_cast<std::uint8_t>(instruction_type::add_integer): {
      expect_fields(size, 5, "add_integer");
      auto& in = emplace<add_integer>(out);
      read_target(r, in);
      read_name(r, in.field, "field");
      in.delta = r.read_int("delta");
      return;
    }
    default:
      fail(error_code::bad_syntax, "unknown instruction type " + std::to_string(tag));
  }
}

void read_changeset_into(wire_reader& r, changeset& c) {
  r.expect_array(6, "changeset");
  c.client_version = r.read_uint("changeset client version");
  if (c.client_version == 0) fail(error_code::bad_syntax, "changeset client version is 0");
  c.last_integrated_server_version = r.read_uint("last integrated server version");
  c.server_version = r.read_uint("changeset server version");
  c.origin_file_ident = r.read_uint("origin file ident");
  c.origin_timestamp = r.read_uint("origin timestamp");
  const auto n = r.read_list(limits::max_instructions_per_changeset, "instructions");
  c.instructions.reserve(std::min<std::size_t>(n, r.remaining() / min_instruction_bytes));
  for (std::uint32_t i = 0; i < n; ++i) read_instruction(r, c.instructions);
}

changeset read_changeset(wire_reader& r) {
  changeset c;
  read_changeset_into(r, c);
  return c;
}

std::vector<changeset> read_changesets(wire_reader& r) {
  const auto n = r.read_list(limits::max_changesets_per_message, "changesets");
  std::vector<changeset> out;
  out.reserve(std::min<std::size_t>(n, r.remaining() / min_changeset_bytes));
  for (std::uint32_t i = 0; i < n; ++i) read_changeset_into(r, out.emplace_back());
  return out;
}

// Runs `convert` over a whole frame; turns every failure into a codec_error.
template <class F>
auto decode_frame(std::span<const std::uint8_t> bytes, F&& convert)
    -> decode_result<decltype(convert(std::declval<wire_reader&>()))> {
  if (bytes.empty()) return codec_error{error_code::bad_syntax, "empty frame"};
  if (bytes.size() > limits::max_frame_bytes) {
    return codec_error{error_code::limits_exceeded, "frame of " + std::to_string(bytes.size()) +
                                                        " bytes is larger than max_frame_bytes"};
  }
  try {
    wire_reader r(bytes);
    auto message = convert(r);
    if (!r.at_end()) {
      return codec_error{error_code::bad_syntax,
                         std::to_string(r.remaining()) + " trailing bytes after the message"};
    }
    return message;
  } catch (const detail::decode_failure& f) {
    return f.error;
  } catch (const std::bad_alloc&) {
    return codec_error{error_code::limits_exceeded, "frame needs too much memory"};
  } catch (const std::exception& e) {
    return codec_error{error_code::other_error, std::string("decoder failure: ") + e.what()};
  }
}

// Reads the frame's array header and message type; `fields` gets the element count after it.
std::uint64_t read_message_type(wire_reader& r, std::uint32_t& fields) {
  const auto size = r.read_array("frame");
  if (size == 0) fail(error_code::bad_syntax, "frame is an empty array");
  fields = size - 1;
  return r.read_uint("message type");
}

// Both directions' MARK: [type, session, request].
template <class Mark>
Mark read_mark(wire_reader& r, std::uint32_t fields) {
  expect_fields(fields, 2, "MARK");
  Mark m;
  m.session = read_session(r);
  m.request = r.read_uint("request ident");
  return m;
}

bind_message read_bind(wire_reader& r) {
  bind_message m;
  m.session = read_session(r);
  m.realm_path = std::string(r.read_str(limits::max_realm_path_bytes, "realm path"));
  m.token = std::string(r.read_str(limits::max_token_bytes, "token"));
  if (auto why = validate_realm_path(m.realm_path); !why.empty()) {
    // Session level: the frame is well formed, only this session is refused.
    throw detail::decode_failure{{error_code::illegal_realm_path, std::move(why), m.session}};
  }
  return m;
}

client_message convert_client(wire_reader& r) {
  std::uint32_t fields = 0;
  const auto type = read_message_type(r, fields);
  switch (type) {
    case static_cast<std::uint8_t>(message_type::bind):
      expect_fields(fields, 3, "BIND");
      return read_bind(r);
    case static_cast<std::uint8_t>(message_type::client_ident): {
      expect_fields(fields, 5, "IDENT");
      client_ident_message m;
      m.session = read_session(r);
      m.client_file_ident = r.read_uint("client file ident");
      m.file_ident_salt = r.read_uint("file ident salt");
      m.server_version = r.read_uint("server version");
      m.last_integrated_client_version = r.read_uint("last integrated client version");
      return m;
    }
    case static_cast<std::uint8_t>(message_type::upload): {
      expect_fields(fields, 4, "UPLOAD");
      upload_message m;
      m.session = read_session(r);
      m.client_version = r.read_uint("client version");
      m.last_integrated_server_version = r.read_uint("last integrated server version");
      m.changesets = read_changesets(r);
      return m;
    }
    case static_cast<std::uint8_t>(message_type::client_mark):
      return read_mark<client_mark_message>(r, fields);
    case static_cast<std::uint8_t>(message_type::unbind):
      expect_fields(fields, 1, "UNBIND");
      return unbind_message{read_session(r)};
    case static_cast<std::uint8_t>(message_type::ping):
      expect_fields(fields, 1, "PING");
      return ping_message{r.read_uint("timestamp")};
    default:
      fail(error_code::unknown_message, "unknown client message type " + std::to_string(type));
  }
}

error_message read_error(wire_reader& r) {
  error_message m;
  const auto code = r.read_uint("error code");
  if (code < 100 || code > 299) {
    fail(error_code::bad_syntax, "error code " + std::to_string(code) + " is outside 100..299");
  }
  m.code = static_cast<std::uint16_t>(code);
  m.message = std::string(r.read_str(limits::max_error_message_bytes, "error message"));
  m.try_again = r.read_bool("try_again");
  m.session = r.read_uint("session ident");
  const bool connection_level = m.code < 200;
  if (connection_level != (m.session == 0)) {
    fail(error_code::bad_syntax, connection_level ? "connection-level error names a session"
                                                  : "session-level error names no session");
  }
  return m;
}

server_message convert_server(wire_reader& r) {
  std::uint32_t fields = 0;
  const auto type = read_message_type(r, fields);
  switch (type) {
    case static_cast<std::uint8_t>(message_type::server_ident): {
      expect_fields(fields, 3, "IDENT");
      server_ident_message m;
      m.session = read_session(r);
      m.client_file_ident = r.read_uint("client file ident");
      if (m.client_file_ident == 0)
        fail(error_code::bad_syntax, "allocated client file ident is 0");
      m.file_ident_salt = r.read_uint("file ident salt");
      return m;
    }
    case static_cast<std::uint8_t>(message_type::download): {
      expect_fields(fields, 5, "DOWNLOAD");
      download_message m;
      m.session = read_session(r);
      m.server_version = r.read_uint("server version");
      m.last_integrated_client_version = r.read_uint("last integrated client version");
      m.downloadable_bytes = r.read_uint("downloadable bytes");
      m.changesets = read_changesets(r);
      return m;
    }
    case static_cast<std::uint8_t>(message_type::server_mark):
      return read_mark<server_mark_message>(r, fields);
    case static_cast<std::uint8_t>(message_type::unbound):
      expect_fields(fields, 1, "UNBOUND");
      return unbound_message{read_session(r)};
    case static_cast<std::uint8_t>(message_type::error):
      expect_fields(fields, 4, "ERROR");
      return read_error(r);
    case static_cast<std::uint8_t>(message_type::pong):
      expect_fields(fields, 1, "PONG");
      return pong_message{r.read_uint("timestamp")};
    default:
      fail(error_code::unknown_message, "unknown server message type " + std::to_string(type));
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
  return decode_frame(frame, convert_client);
}

decode_result<server_message> decode_server_message(std::span<const std::uint8_t> frame) {
  return decode_frame(frame, convert_server);
}

void encode_changeset(const changeset& changeset, byte_buffer& out) {
  buffer_writer w{out};
  packer p(w);
  pack_changeset(p, changeset);
}

decode_result<changeset> decode_changeset(std::span<const std::uint8_t> bytes) {
  return decode_frame(bytes, read_changeset);
}

std::size_t encoded_size(const changeset& changeset) {
  byte_counter counter;
  msgpack::packer<byte_counter> p(counter);
  pack_changeset(p, changeset);
  return counter.bytes;
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
          if (const auto* s = std::get_if<std::string>(&x.new_value);
              s && s->size() > limits::max_value_bytes) {
            return "string value is too long";
          }
          if (const auto* b = std::get_if<binary>(&x.new_value);
              b && b->size() > limits::max_value_bytes) {
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
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '-' || ch == '.';
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
    ACTORSYNC_ERROR_NAME(server_overloaded)
    ACTORSYNC_ERROR_NAME(frame_timeout)
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
    ACTORSYNC_ERROR_NAME(session_message_order)
    ACTORSYNC_ERROR_NAME(bad_server_version)
    ACTORSYNC_ERROR_NAME(storage_full)
    ACTORSYNC_ERROR_NAME(storage_corruption)
#undef ACTORSYNC_ERROR_NAME
  }
  return "unknown";
}

}  // namespace actorsync::protocol
