#include <actorsync/storage/errors.hpp>

namespace actorsync::storage {

std::string_view to_string(storage_errc code) {
  switch (code) {
    case storage_errc::io_error:
      return "io_error";
    case storage_errc::corruption:
      return "corruption";
    case storage_errc::bad_changeset:
      return "bad_changeset";
    case storage_errc::invalid_argument:
      return "invalid_argument";
    case storage_errc::bad_client_file_ident:
      return "bad_client_file_ident";
    case storage_errc::bad_progress:
      return "bad_progress";
    case storage_errc::closed:
      return "closed";
    case storage_errc::bad_client_version:
      return "bad_client_version";
    case storage_errc::realm_lost:
      return "realm_lost";
    case storage_errc::realm_owned_elsewhere:
      return "realm_owned_elsewhere";
    case storage_errc::unavailable:
      return "unavailable";
    case storage_errc::storage_full:
      return "storage_full";
  }
  return "unknown";
}

}  // namespace actorsync::storage
