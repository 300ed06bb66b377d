#include "actors/memory_release.hpp"

#include <cstdlib>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace actorsync::runtime {

bool release_free_memory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);  // every arena; keeps no extra pad at the top
  return true;
#else
  return false;
#endif
}

}  // namespace actorsync::runtime
