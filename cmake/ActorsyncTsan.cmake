# ThreadSanitizer builds (ACTORSYNC_TSAN): every executable gets tools/tsan/caf_sync_hooks.cpp,
# which tells TSan about the synchronisation inside the uninstrumented libcaf_core (see
# tools/tsan/README.md). Call after every folder was added.
add_library(actorsync_tsan_hooks OBJECT ${PROJECT_SOURCE_DIR}/tools/tsan/caf_sync_hooks.cpp)

function(actorsync_tsan_hook_executables dir)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_sources(${target} PRIVATE $<TARGET_OBJECTS:actorsync_tsan_hooks>)
      add_dependencies(${target} actorsync_tsan_hooks)
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    actorsync_tsan_hook_executables(${subdir})
  endforeach()
endfunction()
