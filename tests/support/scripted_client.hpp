// A small synchronous actorsync.v1 client for tests: connect over ws:// or wss:// with a token,
// send a message, expect a message of a given type within a deadline. Deadlines only bound a
// wait that normally ends at once; they never act as synchronisation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <actorsync/protocol/messages.hpp>
#include "protocol/codec.hpp"

namespace actorsync::testing {

using namespace std::chrono_literals;

/// Generous: only a broken server makes a test wait this long.
inline constexpr std::chrono::milliseconds default_deadline = 30s;

struct client_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = false;
  std::string ca_file;               ///< trusted CA (PEM) for wss://
  std::optional<std::string> token;  ///< sent as "Authorization: Bearer <token>"
  std::string subprotocol = "actorsync.v1";
  std::string raw_authorization;  ///< if set, sent as the Authorization header verbatim
  /// Added to the upgrade request as they are (a header may repeat one set above).
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string path = "/";  ///< the upgrade request's target
};

/// The server answered the upgrade with an HTTP status instead of 101.
struct upgrade_refused : std::runtime_error {
  upgrade_refused(int status, std::string body, std::string reason)
      : std::runtime_error("upgrade refused: " + std::to_string(status) + " " + reason + " " +
                           body),
        status(status),
        body(std::move(body)),
        reason(std::move(reason)) {}
  int status;
  std::string body;
  std::string reason;  ///< the X-Actorsync-Reason header
};

/// The connection or TLS handshake failed before HTTP (a client-side error).
struct connect_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class scripted_client {
 public:
  virtual ~scripted_client() = default;

  /// Connects and upgrades. Throws upgrade_refused or connect_failed.
  static std::unique_ptr<scripted_client> connect(
      const client_options& options, std::chrono::milliseconds deadline = default_deadline);

  virtual void send_frame(std::span<const std::uint8_t> bytes) = 0;
  /// Sends `bytes` as a WebSocket text message (a protocol violation, for tests).
  virtual void send_text_frame(std::span<const std::uint8_t> bytes) = 0;
  void send(const protocol::client_message& message);

  /// The next server message; throws std::runtime_error on timeout, close or an undecodable
  /// frame.
  virtual std::vector<std::uint8_t> receive_frame(std::chrono::milliseconds deadline) = 0;
  protocol::server_message receive(std::chrono::milliseconds deadline = default_deadline);

  /// Receives the next message and requires it to be a T. Expecting anything but a DOWNLOAD
  /// skips DOWNLOADs without changesets: the server sends one after every IDENT, and bare
  /// acknowledgements, in an order these tests do not pin down (tests that care expect them).
  template <class T>
  T expect(std::chrono::milliseconds deadline = default_deadline) {
    auto message = receive(deadline);
    if constexpr (!std::is_same_v<T, protocol::download_message>) {
      while (is_bare_download(message)) message = receive(deadline);
    }
    if (auto* m = std::get_if<T>(&message)) return std::move(*m);
    throw std::runtime_error("expected " + std::string(name_of<T>()) + ", got " +
                             describe(message));
  }
  /// Receives the next message and requires an ERROR with this code and session ident.
  protocol::error_message expect_error(protocol::error_code code, protocol::session_ident session,
                                       std::chrono::milliseconds deadline = default_deadline);

  /// Waits for the server to close the WebSocket; returns the close code it sent (frames
  /// arriving first are skipped). Throws on timeout.
  virtual std::uint16_t wait_closed(std::chrono::milliseconds deadline = default_deadline) = 0;

  static std::string describe(const protocol::server_message& message);
  static bool is_bare_download(const protocol::server_message& message) {
    auto* d = std::get_if<protocol::download_message>(&message);
    return d != nullptr && d->changesets.empty();
  }

 private:
  template <class T>
  static const char* name_of();
};

/// Receives DOWNLOADs until one acknowledges `client_version` (the bare DOWNLOAD every IDENT
/// gets may come first) and returns it.
inline protocol::download_message expect_acknowledgement(scripted_client& client,
                                                         protocol::version_type client_version) {
  for (;;) {
    auto d = client.expect<protocol::download_message>();
    if (d.last_integrated_client_version >= client_version) return d;
  }
}

/// Receives DOWNLOADs until a MARK answer and returns how many changesets they carried; empty
/// when a message of another kind came first.
std::optional<std::size_t> changesets_until_mark(scripted_client& client);

/// The HTTP status of an upgrade with `options`: 101 when it succeeded, else the refusal's
/// (its body in `body` when given).
int upgrade_status(const client_options& options, std::string* body = nullptr);

/// Convenience: BIND, IDENT(0) and the server's IDENT; returns the granted ident and salt.
struct bound_session {
  protocol::session_ident session = 0;
  protocol::file_ident ident = 0;
  std::uint64_t salt = 0;
};
bound_session bind_and_ident(scripted_client& client, protocol::session_ident session,
                             const std::string& realm_path, const std::string& token = "");

/// A changeset setting one field, client version `version`.
protocol::changeset make_changeset(protocol::version_type version, const std::string& object_id,
                                   std::int64_t value, protocol::version_type last_server = 0);

/// A plain HTTP GET against 127.0.0.1:port; returns status and body (and, when asked, the
/// X-Actorsync-Reason header).
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& target,
                                     std::string* actorsync_reason = nullptr);

/// A blocking TCP socket connected to 127.0.0.1:`port`, for bytes no client library would send:
/// each read bounded by 30 s (SO_RCVTIMEO, only a broken server waits that long); a
/// `receive_buffer` above 0 shrinks its receive buffer first. Throws when it cannot connect;
/// the caller closes it.
int connect_raw(std::uint16_t port, int receive_buffer = 0);

}  // namespace actorsync::testing
