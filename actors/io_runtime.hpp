// The Asio side of the client runtime: one io_context on its own thread and the TLS context
// used by every link. Owned by whoever embeds the runtime (api::app or a test); it must outlive
// the connection manager's sockets and be stopped before the actor system is destroyed.
// Internal header of actors/ (no Asio types leak: the definition lives in client_websocket.cpp).
#pragma once

#include <memory>
#include <string>

namespace actorsync::runtime {

struct tls_settings {
  std::string trust_file;   ///< PEM file of trusted CAs; empty: the system's default paths
  bool verify_peer = true;  ///< certificate verification and host-name check (on by default)
};

class io_runtime {
 public:
  explicit io_runtime(tls_settings tls = {});
  ~io_runtime();  ///< stops and joins the I/O thread
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  /// Lets pending handlers finish, then joins the thread. Idempotent.
  void stop();

  struct impl;
  impl& internals() { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace actorsync::runtime
