#include "tests/protocol/protocol_samples.hpp"

#include <stdexcept>

namespace actorsync::protocol::samples {

changeset sample_changeset() {
  changeset c;
  c.client_version = 9;
  c.last_integrated_server_version = 17;
  c.origin_timestamp = 1700000000000;
  c.instructions = {create_object{"tasks", "t1"},
                    set_field{"tasks", "t1", "title", std::string("write the spec")},
                    set_field{"tasks", "t1", "priority", std::int64_t{-2}},
                    set_field{"tasks", "t1", "estimate_ms", std::int64_t{3600000}},
                    set_field{"tasks", "t1", "ratio", 0.25},
                    set_field{"tasks", "t1", "done", true},
                    set_field{"tasks", "t1", "assignee", std::monostate{}},
                    set_field{"tasks", "t1", "thumbnail", binary{0x00, 0x01, 0xfe, 0xff}},
                    add_integer{"counters", "c1", "clicks", -3},
                    erase_object{"tasks", "t0"}};
  return c;
}

namespace {

changeset downloaded_changeset() {
  changeset c = sample_changeset();
  c.server_version = 18;
  c.origin_file_ident = 7;
  return c;
}

}  // namespace

std::vector<named<client_message>> sample_client_messages() {
  return {
      {"client_bind", bind_message{1, "/tenant/orders", "eyJ1IjoiYWxpY2UifQ.c2ln"}},
      {"client_bind_upgrade_token", bind_message{2, "/notes", ""}},
      {"client_ident_request", client_ident_message{1, 0, 0, 0, 0}},
      {"client_ident_resume", client_ident_message{1, 42, 0x5eed5a17, 17, 9}},
      {"client_upload", upload_message{1, 9, 17, {sample_changeset()}}},
      {"client_upload_empty", upload_message{1, 9, 17, {}}},
      {"client_mark", client_mark_message{1, 7}},
      {"client_unbind", unbind_message{1}},
      {"client_ping", ping_message{1700000000123}},
  };
}

std::vector<named<server_message>> sample_server_messages() {
  return {
      {"server_ident", server_ident_message{1, 42, 0x5eed5a17}},
      {"server_download", download_message{1, 18, 9, 4096, {downloaded_changeset()}}},
      {"server_download_ack", download_message{1, 17, 9, 0, {}}},
      {"server_mark", server_mark_message{1, 7}},
      {"server_unbound", unbound_message{1}},
      {"server_error_session", error_message{static_cast<std::uint16_t>(error_code::bad_changeset),
                                             "changeset 9: collection is empty", false, 1}},
      {"server_error_connection", error_message{static_cast<std::uint16_t>(error_code::going_away),
                                                "server shutting down", true, 0}},
      {"server_pong", pong_message{1700000000123}},
  };
}

byte_buffer encoded(const client_message& message) {
  byte_buffer out;
  encode(message, out);
  return out;
}

byte_buffer encoded(const server_message& message) {
  byte_buffer out;
  encode(message, out);
  return out;
}

byte_buffer encoded(const changeset& changeset) {
  byte_buffer out;
  encode_changeset(changeset, out);
  return out;
}

byte_buffer from_hex(std::string_view text) {
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  byte_buffer out;
  int high = -1;
  bool in_comment = false;
  for (char ch : text) {
    if (in_comment) {
      in_comment = ch != '\n';
      continue;
    }
    if (ch == '#') {
      in_comment = true;
      continue;
    }
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') continue;
    const int v = nibble(ch);
    if (v < 0) throw std::invalid_argument(std::string("not a hex digit: ") + ch);
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

std::string to_hex(const byte_buffer& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
    out += (i % 16 == 15 || i + 1 == bytes.size()) ? '\n' : ' ';
  }
  return out;
}

std::string golden_dir() {
  return std::string(ACTORSYNC_TEST_DATA_DIR) + "/golden";
}

}  // namespace actorsync::protocol::samples
