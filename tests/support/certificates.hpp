// A development CA and a server certificate for 127.0.0.1 and localhost, made by
// tools/gen-test-certs.sh into a temporary directory removed with the object.
#pragma once

#include <filesystem>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace actorsync::testing {

/// The source tree (tools/, config/ and the golden files live there).
std::filesystem::path source_dir();

struct test_certificates {
  temp_dir dir{"certs"};
  /// Runs the script; throws std::runtime_error when it fails.
  test_certificates();
  std::filesystem::path ca() const { return dir.path() / "ca.pem"; }
  std::filesystem::path certificate() const { return dir.path() / "server.pem"; }
  std::filesystem::path key() const { return dir.path() / "server.key"; }
  /// Signs with this CA a server certificate naming only other.example (a chain that verifies
  /// but a host name that does not match): `name`.pem and `name`.key in dir. False when openssl
  /// failed.
  bool sign_for_another_host(const std::string& name) const;
};

}  // namespace actorsync::testing
