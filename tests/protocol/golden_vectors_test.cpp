// The wire format must not drift: every sample message encodes to the bytes committed under
// golden/, and those bytes decode back to the sample. The files are only rewritten on request:
//   ACTORSYNC_UPDATE_GOLDEN=1 build/tests/protocol/protocol_golden_test
#include "protocol/codec.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/protocol/protocol_samples.hpp"

namespace actorsync::protocol::samples {
namespace {

bool updating() {
  return std::getenv("ACTORSYNC_UPDATE_GOLDEN") != nullptr;
}

std::string golden_path(const std::string& name) {
  return golden_dir() + "/" + name + ".hex";
}

void write_golden(const std::string& name, const byte_buffer& bytes) {
  std::ofstream out(golden_path(name));
  out << "# actorsync.v1 golden vector " << name << " (" << bytes.size()
      << " bytes). Do not edit;\n"
      << "# rewrite with ACTORSYNC_UPDATE_GOLDEN=1 only for a deliberate format change.\n"
      << to_hex(bytes);
}

// The committed bytes, or an empty buffer (and a test failure) when the file is missing.
byte_buffer read_golden(const std::string& name) {
  std::ifstream in(golden_path(name));
  if (!in) {
    ADD_FAILURE() << "missing golden file " << golden_path(name);
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  return from_hex(text.str());
}

// Compares (or rewrites) one golden file; returns the committed bytes.
byte_buffer check_golden(const std::string& name, const byte_buffer& actual) {
  if (updating()) write_golden(name, actual);
  auto golden = read_golden(name);
  EXPECT_EQ(to_hex(actual), to_hex(golden)) << "encoding of " << name << " drifted";
  return golden;
}

template <class Message, class Decode>
void check_samples(const std::vector<named<Message>>& samples, Decode decode) {
  for (const auto& [name, message] : samples) {
    SCOPED_TRACE(name);
    const auto golden = check_golden(name, encoded(message));
    auto decoded = decode(golden);
    ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
    EXPECT_EQ(decoded.message(), message);
  }
}

TEST(GoldenVectors, ClientMessagesEncodeToAndDecodeFromTheCommittedBytes) {
  check_samples(sample_client_messages(),
                [](const byte_buffer& b) { return decode_client_message(b); });
}

TEST(GoldenVectors, ServerMessagesEncodeToAndDecodeFromTheCommittedBytes) {
  check_samples(sample_server_messages(),
                [](const byte_buffer& b) { return decode_server_message(b); });
}

TEST(GoldenVectors, StoredChangesetEncodesToAndDecodesFromTheCommittedBytes) {
  const auto golden = check_golden("changeset", encoded(sample_changeset()));
  auto decoded = decode_changeset(golden);
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_EQ(decoded.message(), sample_changeset());
}

TEST(GoldenVectors, SamplesCoverEveryMessageTypeAndEveryFileIsASample) {
  std::set<std::size_t> client_kinds;
  std::set<std::size_t> server_kinds;
  std::set<std::string> names{"changeset"};
  for (const auto& s : sample_client_messages()) {
    client_kinds.insert(s.message.index());
    names.insert(s.name);
  }
  for (const auto& s : sample_server_messages()) {
    server_kinds.insert(s.message.index());
    names.insert(s.name);
  }
  EXPECT_EQ(client_kinds.size(), std::variant_size_v<client_message>);
  EXPECT_EQ(server_kinds.size(), std::variant_size_v<server_message>);

  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir())) {
    files.insert(entry.path().stem().string());
  }
  EXPECT_EQ(files, names) << "a golden file without a sample, or a sample without a file";
}

// A hand-checked vector: if this fails, the encoder changed, not just the samples.
TEST(GoldenVectors, PingBytesMatchTheSpecificationExample) {
  const auto bytes = encoded(client_message{ping_message{1700000000123}});
  EXPECT_EQ(to_hex(bytes), "92 06 cf 00 00 01 8b cf e5 68 7b\n");
}

}  // namespace
}  // namespace actorsync::protocol::samples
