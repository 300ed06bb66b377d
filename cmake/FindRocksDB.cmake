# Finds RocksDB's shared library and headers and defines RocksDB::rocksdb.
# Debian's own RocksDB CMake config imports the static archive (which would drag its whole
# dependency set into every link); the shared library is what a service links. Installed with
# the package, so the exported targets name RocksDB::rocksdb, never a path of the build machine.
find_path(RocksDB_INCLUDE_DIR rocksdb/db.h)
find_library(RocksDB_LIBRARY NAMES librocksdb.so rocksdb)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(RocksDB REQUIRED_VARS RocksDB_LIBRARY RocksDB_INCLUDE_DIR)

if(RocksDB_FOUND AND NOT TARGET RocksDB::rocksdb)
  add_library(RocksDB::rocksdb UNKNOWN IMPORTED)
  set_target_properties(RocksDB::rocksdb PROPERTIES IMPORTED_LOCATION "${RocksDB_LIBRARY}"
                                                   INTERFACE_INCLUDE_DIRECTORIES "${RocksDB_INCLUDE_DIR}")
endif()
mark_as_advanced(RocksDB_INCLUDE_DIR RocksDB_LIBRARY)
