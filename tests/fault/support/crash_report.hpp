// What the client crash writer (tests/fault/client_crash_writer.cpp) commits and reports, shared
// with the test that kills it. One report per line on a pipe, each written with one write(2)
// after the fact it reports:
//   "c <v>"  the transaction with client version v is committed (commit() returned);
//   "a <v>"  the store records the server's acknowledgement of every version up to v.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace actorsync::testing {

/// The realm every crash writer writes to.
inline constexpr const char* crash_realm = "/client-crash";

/// The payload of transaction `version`: large enough that a re-upload of already acknowledged
/// transactions shows in the bytes sent, and distinct per version.
inline std::string crash_payload(std::uint64_t version) {
  return std::string(600, 'p') + std::to_string(version);
}

struct crash_report {
  enum kind_type : char { committed = 'c', acknowledged = 'a' } kind;
  std::uint64_t version;
};

inline std::string format_report(crash_report report) {
  return std::string(1, static_cast<char>(report.kind)) + " " + std::to_string(report.version) +
         "\n";
}

/// Parses one line (without its newline); nullopt when it is not a report.
inline std::optional<crash_report> parse_report(const std::string& line) {
  if (line.size() < 3 || line[1] != ' ') return std::nullopt;
  if (line[0] != crash_report::committed && line[0] != crash_report::acknowledged)
    return std::nullopt;
  try {
    return crash_report{static_cast<crash_report::kind_type>(line[0]), std::stoull(line.substr(2))};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace actorsync::testing
