// GlooCollectiveExecutor: runs collectives over Gloo's TCP transport.
//
// Each (group_key, device) a process takes part in is one member with one
// thread of its own, which forms the group through a CoordinatorClient
// (ranks by sorted device names; Gloo's full mesh rendezvous through the
// coordinator's store) and then runs the member's collectives one at a
// time. Members of one group agree, before every transfer, on which
// instance to run next: each round they all-gather what they have waiting
// (instance key, kind, dtype, shape, ops) and run the smallest instance key
// that every member has, so independent collectives of a step may become
// ready in any order on each member without deadlock. The same exchange
// checks that the members agree; ones that do not (dtype, shape, merge or
// final op, kind, one sender for a broadcast) fail with FAILED_PRECONDITION
// naming the instance and the ranks, on every member. Members waiting on
// instances none of the others has for longer than `order_window` (their
// graphs order the collectives differently) fail the same way.
//
// A member that dies breaks the group: the others' transfers fail with
// UNAVAILABLE naming the group's members, the broken group is dropped, and
// the next collective forms the group again (a newer generation).
//
// Thread safety: RunAsync may be called from any thread and never blocks;
// `done` runs on the member's thread. The destructor fails what is still
// waiting (CANCELLED) and joins the threads.
#ifndef RILL_RUNTIME_COLLECTIVE_GLOO_EXECUTOR_H_
#define RILL_RUNTIME_COLLECTIVE_GLOO_EXECUTOR_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/framework/collective.h"
#include "runtime/collective/coordinator.h"

namespace gloo::transport {
class Device;
}

namespace rill {

struct GlooExecutorOptions {
  // The address Gloo listens on (this task's host).
  std::string hostname = "127.0.0.1";
  // How long a member waits for the others (joining, each transfer) when
  // the op sets no timeout_seconds.
  absl::Duration default_timeout = absl::Minutes(10);
  // How long members may each wait on instances none of the others has.
  absl::Duration order_window = absl::Seconds(5);
  // Reductions of fewer bytes use Gloo's BCUBE (fewer steps); larger ones
  // its ring (bandwidth-optimal). communication_hint "ring" forces the ring.
  size_t small_reduce_bytes = 64 << 10;
  // The ring moves each rank's share in segments of at most this many
  // bytes (one message each); 0: by group size. Measured on loopback
  // (docs/benchmarks.md): two members gain from 4 MiB (fewer wakeups per
  // byte); three and four, which share cores, keep Gloo's 1 MiB so more
  // segments are in flight.
  size_t ring_segment_bytes = 0;
  size_t RingSegmentBytes(int group_size) const {
    if (ring_segment_bytes > 0) return ring_segment_bytes;
    return group_size <= 2 ? size_t{4} << 20 : size_t{1} << 20;
  }
};

class GlooCollectiveExecutor : public CollectiveExecutor {
 public:
  // `coordinator` must outlive the executor.
  explicit GlooCollectiveExecutor(CoordinatorClient* coordinator,
                                  GlooExecutorOptions options = {});
  // Shutdown()s.
  ~GlooCollectiveExecutor() override;
  // Fails what waits (CANCELLED), ends transfers in flight by closing
  // their connections, and joins the members' threads; later requests
  // fail at once. The executor stays valid for callers that still hold it.
  void Shutdown();

  void RunAsync(CollectiveRequest request, DoneCallback done) override;
  void Cancel(int32_t group_key, const std::string& device) override;

  class Member;

 private:
  // Gloo's TCP device, made on first use and shared by every member.
  absl::StatusOr<std::shared_ptr<gloo::transport::Device>> TransportDevice();

  CoordinatorClient* const coordinator_;
  const GlooExecutorOptions options_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<gloo::transport::Device> device_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::pair<int32_t, std::string>, std::unique_ptr<Member>>
      members_ ABSL_GUARDED_BY(mu_);
};

}  // namespace rill

#endif  // RILL_RUNTIME_COLLECTIVE_GLOO_EXECUTOR_H_
