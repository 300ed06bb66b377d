#include "server/data_verify.hpp"

#include <ostream>

#include "server/command_line.hpp"
#include "storage/history_verify.hpp"

namespace actorsync::server {

int verify_data_directory(const std::filesystem::path& directory, std::ostream& out) {
  auto checked = storage::verify_history_directory(directory);
  if (!checked) {
    out << "actorsync-server --verify: cannot check '" << directory.string()
        << "': " << checked.error().message << "\n";
    return command_line::exit_failed;
  }
  const auto& report = checked.value();
  for (const auto& note : report.notes) out << "note: " << note << "\n";
  for (const auto& damage : report.damage) out << "damaged: " << damage << "\n";
  out << "actorsync-server --verify: '" << directory.string() << "': " << report.realms
      << " realms, " << report.changesets << " changesets checked, "
      << (report.damage.empty() ? "no damage found"
                                : std::to_string(report.damage.size()) +
                                      " damaged (restore the directory from a backup)")
      << "\n";
  return report.damage.empty() ? command_line::exit_ok : command_line::exit_data_damaged;
}

}  // namespace actorsync::server
