#include "cluster/bus_messages.hpp"

#include "cluster/nats_bus.hpp"
#include "protocol/codec.hpp"

namespace actorsync::cluster {
namespace {

// Every message starts with a tag byte, so a reply is never read as a request.
constexpr std::uint8_t request_tag = 0xA1;
constexpr std::uint8_t reply_tag = 0xA2;
constexpr std::uint8_t notice_tag = 0xA3;

class writer {
 public:
  explicit writer(std::uint8_t tag) { out_.push_back(static_cast<char>(tag)); }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void bytes(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class reader {
 public:
  reader(std::string_view bytes, std::uint8_t tag) : in_(bytes) {
    if (in_.empty() || static_cast<std::uint8_t>(in_[0]) != tag) {
      failed_ = true;
    } else {
      in_.remove_prefix(1);
    }
  }
  std::uint64_t u64() {
    if (failed_ || in_.size() < 8) return fail(), 0;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in_[i])} << (8 * i);
    in_.remove_prefix(8);
    return v;
  }
  std::string_view bytes() {
    const auto size = u64();
    if (failed_ || size > in_.size()) return fail(), std::string_view{};
    auto out = in_.substr(0, size);
    in_.remove_prefix(size);
    return out;
  }
  void fail() { failed_ = true; }
  bool ok() const { return !failed_ && in_.empty(); }

 private:
  std::string_view in_;
  bool failed_ = false;
};

storage::storage_error malformed(std::string_view what) {
  return {storage::storage_errc::invalid_argument, "malformed bus " + std::string(what)};
}

}  // namespace

std::string encode(const bus_request& request) {
  writer w(request_tag);
  w.u64(static_cast<std::uint64_t>(request.kind));
  w.bytes(request.realm);
  w.bytes(request.from_node);
  w.u64(request.client.ident);
  w.u64(request.client.salt);
  w.u64(request.changesets.size());
  protocol::byte_buffer buffer;
  for (const auto& c : request.changesets) {
    buffer.clear();
    protocol::encode_changeset(c, buffer);
    w.bytes({reinterpret_cast<const char*>(buffer.data()), buffer.size()});
  }
  return w.take();
}

storage::result<bus_request> decode_bus_request(std::string_view bytes) {
  reader r(bytes, request_tag);
  bus_request out;
  const auto kind = r.u64();
  if (kind < 1 || kind > 3) return malformed("request (unknown kind)");
  out.kind = static_cast<bus_request_kind>(kind);
  out.realm = r.bytes();
  out.from_node = r.bytes();
  out.client.ident = r.u64();
  out.client.salt = r.u64();
  const auto count = r.u64();
  // Each changeset takes at least its 8-byte length: a count the bytes cannot back is refused
  // before anything is reserved.
  if (count > bytes.size() / 8) return malformed("request (changeset count)");
  out.changesets.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    const auto encoded = r.bytes();
    auto decoded = protocol::decode_changeset(
        {reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size()});
    if (!decoded) return malformed("changeset: " + decoded.error().reason);
    out.changesets.push_back(std::move(decoded.message()));
  }
  if (!r.ok()) return malformed("request");
  return out;
}

std::string encode(const bus_reply& reply) {
  writer w(reply_tag);
  w.u64(reply.ok ? 0 : static_cast<std::uint64_t>(reply.error));
  w.bytes(reply.message);
  w.u64(reply.integration.server_version);
  w.u64(reply.integration.last_integrated_client_version);
  w.u64(reply.integration.integrated);
  w.u64(reply.integration.integrated_bytes);
  w.u64(reply.grant.ident);
  w.u64(reply.grant.salt);
  return w.take();
}

storage::result<bus_reply> decode_bus_reply(std::string_view bytes) {
  reader r(bytes, reply_tag);
  bus_reply out;
  const auto error = r.u64();
  if (error > static_cast<std::uint64_t>(storage::storage_errc::unavailable)) {
    return malformed("reply (unknown error code)");
  }
  out.ok = error == 0;
  if (!out.ok) out.error = static_cast<storage::storage_errc>(error);
  out.message = r.bytes();
  out.integration.server_version = r.u64();
  out.integration.last_integrated_client_version = r.u64();
  out.integration.integrated = r.u64();
  out.integration.integrated_bytes = r.u64();
  out.grant.ident = r.u64();
  out.grant.salt = r.u64();
  if (!r.ok()) return malformed("reply");
  return out;
}

std::string encode(const change_notice& notice) {
  writer w(notice_tag);
  w.bytes(notice.realm);
  w.u64(notice.version);
  return w.take();
}

storage::result<change_notice> decode_change_notice(std::string_view bytes) {
  reader r(bytes, notice_tag);
  change_notice out;
  out.realm = r.bytes();
  out.version = r.u64();
  if (!r.ok()) return malformed("change notice");
  return out;
}

std::string realm_subject(std::string_view realm_path) {
  return "actorsync.realm." + subject_token(realm_path);
}

std::string node_subject(std::string_view node_id) {
  return "actorsync.node." + subject_token(node_id);
}

std::string change_subject(std::string_view realm_path) {
  return "actorsync.changed." + subject_token(realm_path);
}

}  // namespace actorsync::cluster
