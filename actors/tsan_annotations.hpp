// ThreadSanitizer annotations for the few places where our code reads a message before CAF's own
// entry points do: Debian's libcaf_core is not instrumented, and the TSan build's hooks
// (tools/tsan/) state CAF's hand-offs only at CAF's functions. No-ops in every other build.
#pragma once

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace actorsync::runtime {

inline void tsan_acquire([[maybe_unused]] const void* address) {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(const_cast<void*>(address));
#endif
}

inline void tsan_release([[maybe_unused]] const void* address) {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(const_cast<void*>(address));
#endif
}

}  // namespace actorsync::runtime
