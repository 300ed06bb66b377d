# Installation as a CMake package: `cmake --install build --prefix P` gives
# P/include/actorsync/{protocol,storage,actors,api}/*.hpp (the repository's relative layout, so
# `#include "api/app.hpp"` works with P/include/actorsync on the include path) and
# P/lib/cmake/actorsync with one public target, actorsync::actorsync.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(actorsync_install_include "${CMAKE_INSTALL_INCLUDEDIR}/actorsync")
foreach(lib actorsync_protocol actorsync_storage actorsync_actors actorsync_api)
  target_include_directories(${lib} PUBLIC $<INSTALL_INTERFACE:${actorsync_install_include}>)
endforeach()

add_library(actorsync INTERFACE)
target_link_libraries(actorsync INTERFACE actorsync_api)
set_target_properties(actorsync PROPERTIES EXPORT_NAME actorsync)

install(TARGETS actorsync actorsync_api actorsync_actors actorsync_storage actorsync_protocol
                actorsync_rocksdb
        EXPORT actorsyncTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/protocol ${PROJECT_SOURCE_DIR}/storage
                  ${PROJECT_SOURCE_DIR}/actors ${PROJECT_SOURCE_DIR}/api
        DESTINATION ${actorsync_install_include}
        FILES_MATCHING PATTERN "*.hpp"
        PATTERN "runtime_bridge.hpp" EXCLUDE)
install(EXPORT actorsyncTargets NAMESPACE actorsync::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorsync)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/actorsyncConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/actorsyncConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorsync)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/actorsyncConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/actorsyncConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/actorsyncConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindCAF.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorsync)
