// `actorsync-server --verify`: checks a data directory offline (storage/history_verify.hpp)
// and reports what it found, one line each, with an exit status of its own.
#pragma once

#include <filesystem>
#include <iosfwd>

namespace actorsync::server {

/// Checks `directory` (of a stopped server) and writes the report to `out`. Returns the exit
/// status: 0 nothing damaged, 4 (exit_data_damaged) damage found, 1 it could not be checked.
int verify_data_directory(const std::filesystem::path& directory, std::ostream& out);

}  // namespace actorsync::server
