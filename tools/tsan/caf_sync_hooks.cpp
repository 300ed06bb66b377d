// ThreadSanitizer builds only (ACTORSYNC_TSAN): tells TSan about the synchronisation inside
// Debian's libcaf_core, which is not instrumented. Without this, every message handler reading
// its message looks like a race with the sender (the mailbox hand-off is an atomic TSan cannot
// see), which would bury real reports. Each hook interposes an exported CAF function (the
// executable's definition wins over the library's, also for the library's own calls through its
// PLT and vtables), tells TSan what the function guarantees, then calls CAF's original.
// See tools/tsan/README.md for what is modelled and what is not.
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

namespace {

template <class Fn>
Fn original(const char* mangled) {
  auto* fn = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, mangled));
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan hooks: %s not found in libcaf_core\n", mangled);
    std::abort();
  }
  return fn;
}

// Mangled names of CAF 0.17.6's exported functions (checked with `nm -D libcaf_core.so`).
#define ACTORSYNC_SCHEDULED_ENQUEUE                                                            \
  "_ZN3caf15scheduled_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEE" \
  "PNS_14execution_unitE"
#define ACTORSYNC_BLOCKING_ENQUEUE                                                            \
  "_ZN3caf14blocking_actor7enqueueESt10unique_ptrINS_15mailbox_elementENS_6detail8disposerEE" \
  "PNS_14execution_unitE"
#define ACTORSYNC_SCHEDULED_CONSUME "_ZN3caf15scheduled_actor7consumeERNS_15mailbox_elementE"
// Schedulers resume actors through their `resumable` base, i.e. through this thunk.
#define ACTORSYNC_SCHEDULED_RESUME_THUNK \
  "_ZThn160_N3caf15scheduled_actor6resumeEPNS_14execution_unitEm"
constexpr std::ptrdiff_t resumable_offset = 160;  ///< the `Thn160` in the thunk's name
#define ACTORSYNC_BLOCKING_VISIT "_ZN3caf14blocking_actor15mailbox_visitorclERNS_15mailbox_elementE"
#define ACTORSYNC_REQUEST_DELETION "_ZNK3caf14memory_managed16request_deletionEb"
#define ACTORSYNC_REF_COUNTED_DEREF "_ZNK3caf11ref_counted5derefEv"
#define ACTORSYNC_CONTROL_BLOCK_RELEASE "_ZN3caf21intrusive_ptr_releaseEPNS_19actor_control_blockE"
#define ACTORSYNC_CONTROL_BLOCK_RELEASE_WEAK \
  "_ZN3caf26intrusive_ptr_release_weakEPNS_19actor_control_blockE"

/// CAF's reference counts are std::atomic<size_t>: ref_counted::rc_ after the vtable pointer,
/// actor_control_block::strong_refs then weak_refs at its start.
std::size_t count_at(const void* object, std::size_t offset) {
  auto* bytes = static_cast<const unsigned char*>(object) + offset;
  return reinterpret_cast<const std::atomic<std::size_t>*>(bytes)->load();
}

// Dropping a reference publishes the dropper's writes to whoever destroys the object; the last
// dropper acquires them all (what the acq_rel fetch_sub inside CAF guarantees).
// The count is read before the release, so that the destroyer's acquire covers that read too.
void release_reference(const void* object, std::size_t count_offset) {
  const bool last = count_at(object, count_offset) == 1;
  __tsan_release(const_cast<void*>(object));
  if (last) __tsan_acquire(const_cast<void*>(object));
}

}  // namespace

// The ABI of the originals: `this` first; a unique_ptr argument is passed by address; the
// enums returned (task_result, invoke_message_result) are ints.
extern "C" {

// Enqueueing a message publishes everything its sender wrote before (the mailbox's atomic push).
void actorsync_tsan_scheduled_enqueue(void* self, void** element,
                                      void* unit) __asm__(ACTORSYNC_SCHEDULED_ENQUEUE);
void actorsync_tsan_scheduled_enqueue(void* self, void** element, void* unit) {
  static auto fn = original<void (*)(void*, void**, void*)>(ACTORSYNC_SCHEDULED_ENQUEUE);
  __tsan_release(*element);
  fn(self, element, unit);
}

void actorsync_tsan_blocking_enqueue(void* self, void** element,
                                     void* unit) __asm__(ACTORSYNC_BLOCKING_ENQUEUE);
void actorsync_tsan_blocking_enqueue(void* self, void** element, void* unit) {
  static auto fn = original<void (*)(void*, void**, void*)>(ACTORSYNC_BLOCKING_ENQUEUE);
  __tsan_release(*element);
  fn(self, element, unit);
}

// Handling a message (event-based and blocking actors) acquires what its sender published.
// An actor runs on one worker at a time, but its next message may be handled on another
// worker: the hand-over (mailbox blocked, then rescheduled) is atomics inside CAF, so each
// handler also acquires the actor and releases it when done.
int actorsync_tsan_scheduled_consume(void* self,
                                     void* element) __asm__(ACTORSYNC_SCHEDULED_CONSUME);
int actorsync_tsan_scheduled_consume(void* self, void* element) {
  static auto fn = original<int (*)(void*, void*)>(ACTORSYNC_SCHEDULED_CONSUME);
  __tsan_acquire(element);
  __tsan_acquire(self);
  const int result = fn(self, element);
  __tsan_release(self);
  return result;
}

// The same for a whole activation, which covers the actor's initialisation (its behaviour
// function and state set-up run in its first activation, before any handler). The release comes
// after CAF may already have handed the actor to another worker: a small window that consume's
// own release closes for everything done in handlers.
int actorsync_tsan_scheduled_resume_thunk(void* resumable, void* unit, std::size_t max) __asm__(
    ACTORSYNC_SCHEDULED_RESUME_THUNK);
int actorsync_tsan_scheduled_resume_thunk(void* resumable, void* unit, std::size_t max) {
  static auto fn = original<int (*)(void*, void*, std::size_t)>(ACTORSYNC_SCHEDULED_RESUME_THUNK);
  void* actor = static_cast<char*>(resumable) - resumable_offset;
  __tsan_acquire(actor);
  const int result = fn(resumable, unit, max);
  __tsan_release(actor);
  return result;
}

int actorsync_tsan_blocking_visit(void* visitor, void* element) __asm__(ACTORSYNC_BLOCKING_VISIT);
int actorsync_tsan_blocking_visit(void* visitor, void* element) {
  static auto fn = original<int (*)(void*, void*)>(ACTORSYNC_BLOCKING_VISIT);
  __tsan_acquire(element);
  return fn(visitor, element);
}

// A message never handled (mailbox closed at termination) is destroyed through this; acquiring
// first makes its destruction see the sender's writes. For other objects it is a no-op.
void actorsync_tsan_request_deletion(const void* self,
                                     bool decremented) __asm__(ACTORSYNC_REQUEST_DELETION);
void actorsync_tsan_request_deletion(const void* self, bool decremented) {
  static auto fn = original<void (*)(const void*, bool)>(ACTORSYNC_REQUEST_DELETION);
  __tsan_acquire(const_cast<void*>(self));
  fn(self, decremented);
}

// Reference counts of messages and other ref_counted objects (the count follows the vptr).
void actorsync_tsan_ref_counted_deref(const void* self) __asm__(ACTORSYNC_REF_COUNTED_DEREF);
void actorsync_tsan_ref_counted_deref(const void* self) {
  static auto fn = original<void (*)(const void*)>(ACTORSYNC_REF_COUNTED_DEREF);
  release_reference(self, sizeof(void*));
  fn(self);
}

// Strong references to actors: the last one destroys the actor (and its state).
void actorsync_tsan_control_block_release(void* block) __asm__(ACTORSYNC_CONTROL_BLOCK_RELEASE);
void actorsync_tsan_control_block_release(void* block) {
  static auto fn = original<void (*)(void*)>(ACTORSYNC_CONTROL_BLOCK_RELEASE);
  release_reference(block, 0);
  fn(block);
}

// Weak references (actor addresses): the last one frees the control block.
void actorsync_tsan_control_block_release_weak(void* block) __asm__(
    ACTORSYNC_CONTROL_BLOCK_RELEASE_WEAK);
void actorsync_tsan_control_block_release_weak(void* block) {
  static auto fn = original<void (*)(void*)>(ACTORSYNC_CONTROL_BLOCK_RELEASE_WEAK);
  release_reference(block, sizeof(std::atomic<std::size_t>));
  fn(block);
}

}  // extern "C"
