# Installation as a relocatable CMake package and a pkg-config file:
#   cmake --install build --prefix P
# gives P/bin/{actorsync-server,actorsync-token,actorsync-load}, the libraries in P/lib, the public
# headers (and the headers they include, nothing else) in P/include/actorsync/<folder>/, and
# P/lib/cmake/actorsync with the targets actorsync::actorsync (the client runtime),
# actorsync::server and actorsync::token. Dependencies are found again on the consumer's machine
# (find modules installed alongside), so no path of the build machine is recorded.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(actorsync_install_include "${CMAKE_INSTALL_INCLUDEDIR}/actorsync")
# Consumers put include/ on their path and write #include <actorsync/api/app.hpp>.
set(actorsync_libraries actorsync_protocol actorsync_storage actorsync_actors actorsync_api
                        actorsync_token actorsync_cluster actorsync_process_stats
                        actorsync_server)
foreach(lib ${actorsync_libraries})
  target_include_directories(${lib} PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  string(REPLACE "actorsync_" "" short_name ${lib})
  set_target_properties(${lib} PROPERTIES EXPORT_NAME ${short_name})
endforeach()

add_library(actorsync INTERFACE)
target_link_libraries(actorsync INTERFACE actorsync_api)
set_target_properties(actorsync PROPERTIES EXPORT_NAME actorsync)

install(TARGETS actorsync ${actorsync_libraries} actorsync_build_info
        EXPORT actorsyncTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS actorsync-server actorsync-token RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET actorsync-load)
  install(TARGETS actorsync-load RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The public headers: the ones included as <actorsync/...> anywhere, which is the closure of
# what the API's headers include (a public header includes project headers only that way, and
# the package test checks it). Internal headers (actors' state, the server's actors, the
# runtime bridge, the cluster) stay out of the package.
set(actorsync_public_headers
  api/app.hpp api/realm.hpp api/session_handle.hpp api/sync_session.hpp
  actors/reconnect_backoff.hpp actors/runtime_tuning.hpp actors/session_messages.hpp
  actors/session_types.hpp
  protocol/errors.hpp protocol/limits.hpp protocol/messages.hpp
  storage/errors.hpp storage/realm_store.hpp
  server/config_file.hpp server/server_metrics.hpp server/server_options.hpp
  server/server_tuning.hpp server/sync_server.hpp server/token.hpp)
foreach(header ${actorsync_public_headers})
  get_filename_component(folder ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header} DESTINATION ${actorsync_install_include}/${folder})
endforeach()

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
              ${PROJECT_SOURCE_DIR}/cmake/FindRocksDB.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorsync)

# pkg-config for builds without CMake: the archives are static, so every dependency is listed
# in Libs (pkg-config --libs actorsync gives a complete link line for the client runtime).
configure_file(${PROJECT_SOURCE_DIR}/cmake/actorsync.pc.in ${CMAKE_CURRENT_BINARY_DIR}/actorsync.pc
               @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/actorsync.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
