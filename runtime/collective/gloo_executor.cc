#include "runtime/collective/gloo_executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <span>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/framework/types.h"
#include "core/platform/status_macros.h"
#include "gloo/allgather.h"
#include "gloo/allgatherv.h"
#include "gloo/allreduce.h"
#include "gloo/broadcast.h"
#include "gloo/rendezvous/context.h"
#include "gloo/rendezvous/store.h"
#include "gloo/transport/tcp/device.h"

namespace rill {
namespace {

// The pause between polls of the coordinator: 0.2 ms, doubling to 20 ms.
class Backoff {
 public:
  void Wait() {
    absl::SleepFor(next_);
    next_ = std::min(next_ * 2, absl::Milliseconds(20));
  }

 private:
  absl::Duration next_ = absl::Microseconds(200);
};

// Gloo's rendezvous store over the coordinator: keys under the group's
// prefix; reads poll until the key is set or the deadline passes. Gloo's
// callers expect failures as exceptions (caught where Gloo is called).
class CoordinatorStore : public gloo::rendezvous::Store {
 public:
  // `stop` says when to give up waiting (the works waiting were cancelled).
  CoordinatorStore(CoordinatorClient* client, std::string prefix,
                   absl::Time deadline, std::function<bool()> stop)
      : client_(client),
        prefix_(std::move(prefix)),
        deadline_(deadline),
        stop_(std::move(stop)) {}

  void set(const std::string& key, const std::vector<char>& data) override {
    absl::Status s =
        client_->StoreSet(prefix_ + key, std::string(data.begin(), data.end()));
    if (!s.ok()) throw gloo::IoException(std::string(s.message()));
  }
  std::vector<char> get(const std::string& key) override {
    std::string value = Poll(key);
    return std::vector<char>(value.begin(), value.end());
  }
  void wait(const std::vector<std::string>& keys) override {
    for (const auto& key : keys) Poll(key);
  }
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds&) override {
    wait(keys);
  }

 private:
  std::string Poll(const std::string& key) {
    Backoff backoff;
    while (true) {
      absl::StatusOr<std::optional<std::string>> v =
          client_->StoreGet(prefix_ + key);
      if (!v.ok()) throw gloo::IoException(std::string(v.status().message()));
      if (v->has_value()) return **v;
      if (absl::Now() > deadline_) {
        throw gloo::IoException(
            absl::StrCat("Timed out waiting for key '", key, "'"));
      }
      if (stop_()) throw gloo::IoException("cancelled");
      backoff.Wait();
    }
  }

  CoordinatorClient* const client_;
  const std::string prefix_;
  const absl::Time deadline_;
  const std::function<bool()> stop_;
};

constexpr int kMaxDims = 26;
constexpr int kMaxOffers = 16;
constexpr int64_t kNoOffer = INT64_MIN;

// What a member has waiting for one instance, as exchanged each round.
struct Offer {
  int64_t instance_key = kNoOffer;
  int32_t kind = 0;
  int32_t dtype = 0;
  int32_t group_size = 0;
  int32_t merge = 0;
  int32_t final_op = 0;
  int32_t ndims = 0;
  int64_t dims[kMaxDims] = {};
};

// A reduce's data may ride in the round's exchange itself: each member
// puts its first waiting instance's input there when it is a reduce that
// fits the round's inline space, and when every member did so for the
// instance chosen, each reduces the gathered parts locally, in rank order
// (so all get the same bits), without a second exchange. The inline space
// is kMinInlineBytes, or the size of the reduce the previous round chose
// when that is larger and at most MaxInlineBytes: every member computes
// the same from the same round, so the blocks always match, and a run of
// equal reduces (a chain, a training step's buckets) pays one exchange
// each after the first. One exchange instead of two matters most when
// members share cores (3 or 4 processes on 2: a few ms each), where up to
// 1 MiB the allgather's extra bytes cost less than that; two members
// move the same bytes either way, but past ~256 KiB the copies in and out
// of the blocks cost more than the round they save (docs/benchmarks.md).
constexpr int64_t kMinInlineBytes = 4096;
int64_t MaxInlineBytes(int group_size) {
  return group_size <= 2 ? int64_t{256} << 10 : int64_t{1} << 20;
}

// What one member contributes to a round: this header, then the round's
// inline space.
struct RoundHeader {
  Offer offers[kMaxOffers];
  // Set when this member has seen no instance in common for longer than
  // the order window: if no instance is common this round either, every
  // member fails its collectives in this same round.
  int32_t give_up_order = 0;
  int64_t inline_key = kNoOffer;
  int64_t inline_bytes = 0;
};

// The gathered blocks of a round, each a header and `inline_space` bytes.
class RoundBlocks {
 public:
  RoundBlocks(int members, int64_t inline_space)
      : stride_(sizeof(RoundHeader) + (inline_space + 63) / 64 * 64),
        bytes_(members * stride_) {}
  size_t stride() const { return stride_; }
  char* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  RoundHeader& header(int r) {
    return *reinterpret_cast<RoundHeader*>(bytes_.data() + r * stride_);
  }
  const RoundHeader& header(int r) const {
    return *reinterpret_cast<const RoundHeader*>(bytes_.data() + r * stride_);
  }
  const char* inline_data(int r) const {
    return bytes_.data() + r * stride_ + sizeof(RoundHeader);
  }

 private:
  size_t stride_;
  std::vector<char> bytes_;
};

int MergeCode(const std::string& op) {
  if (op == "Mul") return 1;
  if (op == "Min") return 2;
  if (op == "Max") return 3;
  return 0;  // Add.
}
const char* MergeName(int code) {
  static const char* const kNames[] = {"Add", "Mul", "Min", "Max"};
  return code >= 0 && code < 4 ? kNames[code] : "?";
}

std::string ShapeString(const Offer& o) {
  std::vector<int64_t> dims(o.dims, o.dims + std::clamp(o.ndims, 0, kMaxDims));
  return absl::StrCat("[", absl::StrJoin(dims, ","), "]");
}

std::string DescribeOffer(const Offer& o) {
  std::string s =
      absl::StrCat(CollectiveKindName(static_cast<CollectiveKind>(o.kind)),
                   " of ", DataTypeName(static_cast<DataType>(o.dtype)), " ",
                   ShapeString(o), ", group_size ", o.group_size);
  if (o.kind == static_cast<int>(CollectiveKind::kReduce)) {
    absl::StrAppend(&s, ", merge_op ", MergeName(o.merge), ", final_op ",
                    o.final_op ? "Div" : "Id");
  }
  return s;
}

// Element-wise c = a (op) b, as Gloo calls it on each received chunk (c is
// a or a distinct buffer; no other overlap). Gloo's own gloo::sum and
// friends are plain loops that the compiler may not vectorize (c may alias
// a); these tell it that it may, and this file is built at -O3.
template <typename T, typename Op>
void ElementWise(void* c_, const void* a_, const void* b_, size_t n) {
  T* c = static_cast<T*>(c_);
  const T* a = static_cast<const T*>(a_);
  const T* b = static_cast<const T*>(b_);
  Op op;
#pragma GCC ivdep
  for (size_t i = 0; i < n; ++i) c[i] = op(a[i], b[i]);
}

template <typename T>
struct Min {
  T operator()(T x, T y) const { return y < x ? y : x; }
};
template <typename T>
struct Max {
  T operator()(T x, T y) const { return x < y ? y : x; }
};

using RawReduce = void (*)(void*, const void*, const void*, size_t);

template <typename T>
gloo::AllreduceOptions::Func ReduceFunc(int merge) {
  switch (merge) {
    case 1:
      return static_cast<RawReduce>(&ElementWise<T, std::multiplies<T>>);
    case 2:
      return static_cast<RawReduce>(&ElementWise<T, Min<T>>);
    case 3:
      return static_cast<RawReduce>(&ElementWise<T, Max<T>>);
    default:
      return static_cast<RawReduce>(&ElementWise<T, std::plus<T>>);
  }
}

template <typename T>
void DivideBy(Tensor* t, int n) {
  T* v = t->flat<T>().data();
  const int64_t size = t->NumElements();
  const T d = static_cast<T>(n);
#pragma GCC ivdep
  for (int64_t i = 0; i < size; ++i) v[i] = v[i] / d;
}

// Calls fn(T{}) for the dtype, one of those Gloo reduces here.
template <typename Fn>
absl::Status ForReducedType(DataType dtype, Fn&& fn) {
  switch (dtype) {
    case DT_FLOAT:
      fn(float{});
      return absl::OkStatus();
    case DT_DOUBLE:
      fn(double{});
      return absl::OkStatus();
    case DT_INT32:
      fn(int32_t{});
      return absl::OkStatus();
    case DT_INT64:
      fn(int64_t{});
      return absl::OkStatus();
    default:
      return absl::UnimplementedError(
          absl::StrCat("no reduction of ", DataTypeName(dtype)));
  }
}

absl::Status GlooError(const std::exception& e, const std::string& what) {
  const std::string message = e.what();
  if (absl::StrContains(message, "Timed out") ||
      absl::StrContains(message, "timed out")) {
    return absl::DeadlineExceededError(absl::StrCat(what, ": ", message));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", message));
}

}  // namespace

class GlooCollectiveExecutor::Member {
 public:
  Member(GlooCollectiveExecutor* owner, int32_t group_key, std::string device)
      : owner_(owner), group_key_(group_key), device_(std::move(device)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Member() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      // A transfer blocked on a peer ends when its connections close.
      if (context_ != nullptr) context_->closeConnections();
    }
    thread_.join();
  }

  // A waiting work's step was cancelled: sweep it, and break off the group
  // if this member is in an exchange (which might wait forever for peers
  // whose steps were cancelled too); the group forms anew next time.
  //
  // In the exchange of offers no work's buffers are in use: the cancelled
  // works end here and now, and the round is abandoned whatever the
  // exchange does (a Gloo transfer to a peer that died can stay blocked
  // until its timeout even with the connections closed). A work being
  // transferred ends when the transfer does.
  void Interrupt() {
    std::vector<Work> swept;
    {
      absl::MutexLock lock(&mu_);
      const bool cancelled = AnyCancelledLocked() ||
                             (in_flight_ != nullptr && in_flight_->cancelled());
      if (!cancelled || !busy_) return;
      if (context_ != nullptr) context_->closeConnections();
      if (in_flight_ != nullptr) return;
      abandon_round_ = true;
      for (auto it = pending_.begin(); it != pending_.end();) {
        for (auto w = it->second.begin(); w != it->second.end();) {
          if (IsCancelled(*w)) {
            swept.push_back(std::move(*w));
            w = it->second.erase(w);
          } else {
            ++w;
          }
        }
        it = it->second.empty() ? pending_.erase(it) : std::next(it);
      }
    }
    if (swept.empty()) return;
    // Not on this thread: it runs the step's cancellation callbacks, and a
    // work's callback ends its kernel, which unregisters from them.
    std::vector<absl::Status> why;
    for (const Work& w : swept) why.push_back(w.request.cancellation->status());
    std::thread([swept = std::move(swept), why = std::move(why)]() mutable {
      for (size_t i = 0; i < swept.size(); ++i) swept[i].Done(why[i]);
    }).detach();
  }

  void Add(CollectiveRequest request, DoneCallback done) {
    const double seconds = request.timeout_seconds;
    Work w;
    w.deadline = absl::Now() + (seconds > 0 ? absl::Seconds(seconds)
                                            : owner_->options_.default_timeout);
    w.request = std::move(request);
    w.callback = std::move(done);
    if (IsCancelled(w)) {
      w.Done(w.request.cancellation->status());
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        pending_[w.request.instance_key].push_back(std::move(w));
        return;
      }
    }
    w.Done(absl::CancelledError("the collective executor is stopping"));
  }

 private:
  struct Work {
    CollectiveRequest request;
    DoneCallback callback;
    absl::Time deadline;
    // Ends the work. Its references to the tensors go first: the node
    // after it runs inside the callback, and may reduce in the result's
    // buffer only when it holds the one reference.
    void Done(absl::StatusOr<Tensor> result) {
      request.input = Tensor();
      request.output = Tensor();
      DoneCallback callback_now = std::move(callback);
      callback_now(std::move(result));
    }
  };

  static bool IsCancelled(const Work& w) {
    return w.request.cancellation != nullptr &&
           w.request.cancellation->cancelled();
  }
  // A cancelled work fails with its step's reason, not with the error its
  // cancellation caused.
  static absl::Status ReasonFor(const Work& w, const absl::Status& why) {
    return IsCancelled(w) ? w.request.cancellation->status() : why;
  }
  bool AnyCancelledLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& [key, works] : pending_) {
      for (const Work& w : works) {
        if (IsCancelled(w)) return true;
      }
    }
    return false;
  }

  std::string Where(int64_t instance_key) const {
    return absl::StrCat("collective instance ", instance_key, " of group ",
                        group_key_);
  }
  // "rank 1 (/job:worker/replica:0/task:1/device:CPU:0)".
  std::string RankName(int r) const {
    return absl::StrCat("rank ", r, " (", members_[r], ")");
  }
  // The member a Gloo error names by the address of its connection ("rank 1
  // (/job:...) was lost"), else every member.
  std::string Culprits(const std::exception& e) const {
    const std::string message = e.what();
    for (size_t r = 0; r < peer_addresses_.size(); ++r) {
      if (!peer_addresses_[r].empty() &&
          absl::StrContains(message, peer_addresses_[r])) {
        return absl::StrCat(RankName(static_cast<int>(r)), " was lost");
      }
    }
    return MembersString();
  }
  std::string MembersString() const {
    std::vector<std::string> parts;
    for (int r = 0; r < static_cast<int>(members_.size()); ++r) {
      parts.push_back(RankName(r));
    }
    return absl::StrJoin(parts, ", ");
  }
  // Rank r's offers in an all-gathered round.
  static std::span<const Offer> OffersOf(const std::vector<Offer>& all, int r) {
    return std::span<const Offer>(all.data() + r * kMaxOffers, kMaxOffers);
  }
  // Rank r's offer of instance `key`; null when it has none.
  static const Offer* OfferOf(const std::vector<Offer>& all, int r,
                              int64_t key) {
    for (const Offer& o : OffersOf(all, r)) {
      if (o.instance_key == key) return &o;
    }
    return nullptr;
  }

  void Loop() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](Member* m) { return m->stopping_ || !m->pending_.empty(); },
            this));
        if (stopping_) break;
      }
      FailExpired();
      if (context_ == nullptr) {
        absl::Status s = Connect();
        if (absl::IsCancelled(s)) continue;  // Works cancelled: swept above.
        if (!s.ok()) {
          FailAll(s);
          continue;
        }
      }
      {
        absl::MutexLock lock(&mu_);
        if (pending_.empty()) continue;  // All cancelled or expired.
        // A cancellation that came since FailExpired found this member not
        // busy (Interrupt closed nothing): sweep it first, or the round
        // would wait for peers whose steps were cancelled too.
        if (AnyCancelledLocked()) continue;
        busy_ = true;
        abandon_round_ = false;
      }
      Round();
      absl::MutexLock lock(&mu_);
      busy_ = false;
      in_flight_ = nullptr;
    }
    FailAll(absl::CancelledError("the collective executor is stopping"));
  }

  // The first waiting work's group size and deadline.
  std::pair<int32_t, absl::Time> Front() {
    absl::MutexLock lock(&mu_);
    absl::Time deadline = absl::InfiniteFuture();
    int32_t size = 0;
    for (auto& [key, works] : pending_) {
      for (auto& w : works) {
        deadline = std::min(deadline, w.deadline);
        if (size == 0) size = w.request.group_size;
      }
    }
    return {size, deadline};
  }

  absl::Status Connect() {
    auto [size, deadline] = Front();
    GroupJoin join;
    join.group_key = group_key_;
    join.group_size = size;
    join.device = device_;
    join.min_generation = generation_ + 1;
    GroupState state;
    Backoff backoff;
    while (true) {
      absl::StatusOr<GroupState> s = owner_->coordinator_->JoinGroup(join);
      if (!s.ok()) return s.status();
      state = *std::move(s);
      if (state.complete) break;
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "collective group ", group_key_, ": only ", state.members.size(),
            " of ", size, " members joined in time (",
            absl::StrJoin(state.members, ", "), ")"));
      }
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return absl::CancelledError("stopping");
        if (AnyCancelledLocked()) return absl::CancelledError("step cancelled");
      }
      backoff.Wait();
    }
    ASSIGN_OR_RETURN(std::shared_ptr<gloo::transport::Device> device,
                     owner_->TransportDevice());
    const int rank = static_cast<int>(
        std::find(state.members.begin(), state.members.end(), device_) -
        state.members.begin());
    auto context = std::make_shared<gloo::rendezvous::Context>(
        rank, static_cast<int>(state.members.size()));
    CoordinatorStore store(owner_->coordinator_,
                           GroupStorePrefix(group_key_, state.generation),
                           deadline, [this] {
                             absl::MutexLock lock(&mu_);
                             return stopping_ || AnyCancelledLocked();
                           });
    // Each rank also publishes the local address of its connection to
    // every other rank, so that a Gloo error naming the address of a peer
    // (a read or write to it failed) can name that member.
    std::vector<std::string> peer_addresses(state.members.size());
    try {
      context->connectFullMesh(store, device);
      std::vector<std::string> mine;
      for (int r = 0; r < context->size; ++r) {
        mine.push_back(r == rank ? "" : context->getPair(r)->address().str());
      }
      const std::string joined = absl::StrJoin(mine, "\n");
      store.set(absl::StrCat("peers/", rank),
                std::vector<char>(joined.begin(), joined.end()));
      for (int r = 0; r < context->size; ++r) {
        if (r == rank) continue;
        std::vector<char> theirs = store.get(absl::StrCat("peers/", r));
        std::vector<std::string> lines =
            absl::StrSplit(std::string(theirs.begin(), theirs.end()), '\n');
        if (rank < static_cast<int>(lines.size())) {
          peer_addresses[r] = lines[rank];
        }
      }
    } catch (const std::exception& e) {
      generation_ = state.generation;
      {
        absl::MutexLock lock(&mu_);
        if (AnyCancelledLocked()) return absl::CancelledError("step cancelled");
      }
      return GlooError(e, absl::StrCat("collective group ", group_key_,
                                       ": connecting its members"));
    }
    absl::MutexLock lock(&mu_);
    generation_ = state.generation;
    members_ = state.members;
    peer_addresses_ = std::move(peer_addresses);
    context_ = std::move(context);
    order_stall_ = absl::InfiniteFuture();
    inline_space_ = kMinInlineBytes;
    return absl::OkStatus();
  }

  void DropContext() {
    absl::MutexLock lock(&mu_);
    context_.reset();
  }

  // One exchange of what every member has waiting, then one transfer.
  void Round() {
    RoundBlocks block(1, inline_space_);
    RoundHeader* head = new (block.data()) RoundHeader;
    std::span<Offer> mine(head->offers, kMaxOffers);
    absl::Time deadline = absl::InfiniteFuture();
    {
      absl::MutexLock lock(&mu_);
      int i = 0;
      for (auto& [key, works] : pending_) {
        if (i == kMaxOffers) break;
        const CollectiveRequest& r = works.front().request;
        deadline = std::min(deadline, works.front().deadline);
        Offer& o = mine[i++];
        o.instance_key = key;
        o.kind = static_cast<int32_t>(r.kind);
        o.dtype = r.dtype;
        o.group_size = r.group_size;
        o.merge = MergeCode(r.merge_op);
        o.final_op = r.final_op == "Div";
        o.ndims = r.shape.dims();
        for (int d = 0; d < std::min(o.ndims, kMaxDims); ++d) {
          o.dims[d] = r.shape.dim_size(d);
        }
        if (i == 1 && r.kind == CollectiveKind::kReduce &&
            r.input.IsInitialized() &&
            static_cast<int64_t>(r.input.TotalBytes()) <= inline_space_) {
          head->inline_key = key;
          head->inline_bytes = r.input.TotalBytes();
          if (r.input.TotalBytes() > 0) {
            std::memcpy(block.data() + sizeof(RoundHeader), r.input.raw_data(),
                        r.input.TotalBytes());
          }
        }
      }
    }
    head->give_up_order =
        order_stall_ != absl::InfiniteFuture() &&
        absl::Now() - order_stall_ > owner_->options_.order_window;
    const int size = static_cast<int>(members_.size());
    RoundBlocks blocks(size, inline_space_);
    try {
      gloo::AllgatherOptions opts(context_);
      opts.setOutput(blocks.data(), blocks.size());
      opts.setInput(block.data(), block.size());
      opts.setTimeout(ToChrono(deadline));
      opts.setTag(0);
      gloo::allgather(opts);
    } catch (const std::exception& e) {
      Broken(GlooError(e, absl::StrCat("collective group ", group_key_, " (",
                                       Culprits(e), ")")));
      return;
    }
    bool abandoned = false;
    {
      absl::MutexLock lock(&mu_);
      abandoned = abandon_round_;
    }
    if (abandoned) {
      // Interrupt ended the cancelled works during the exchange: the
      // exchange no longer says what this member has; the group forms anew
      // for what is left.
      Broken(absl::CancelledError(absl::StrCat("collective group ", group_key_,
                                               ": a step was cancelled")));
      return;
    }
    std::vector<Offer> all(kMaxOffers * size);
    for (int r = 0; r < size; ++r) {
      std::copy(blocks.header(r).offers, blocks.header(r).offers + kMaxOffers,
                all.begin() + r * kMaxOffers);
    }
    // The smallest instance every member has (own offers are sorted).
    int64_t chosen = kNoOffer;
    for (const Offer& o : mine) {
      if (o.instance_key == kNoOffer) break;
      bool everywhere = true;
      for (int r = 0; r < size && everywhere; ++r) {
        everywhere = OfferOf(all, r, o.instance_key) != nullptr;
      }
      if (everywhere) {
        chosen = o.instance_key;
        break;
      }
    }
    if (chosen == kNoOffer) {
      bool give_up = false;
      for (int r = 0; r < size; ++r) {
        give_up |= blocks.header(r).give_up_order != 0;
      }
      NoCommonInstance(all, size, give_up);
      return;
    }
    order_stall_ = absl::InfiniteFuture();
    std::vector<Offer> offers(size);
    for (int r = 0; r < size; ++r) offers[r] = *OfferOf(all, r, chosen);
    Work work = Take(chosen);
    absl::Status agree = Agree(chosen, offers);
    if (!agree.ok()) {
      work.Done(agree);
      return;
    }
    bool all_inline = work.request.kind == CollectiveKind::kReduce;
    for (int r = 0; r < size && all_inline; ++r) {
      all_inline = blocks.header(r).inline_key == chosen &&
                   blocks.header(r).inline_bytes ==
                       static_cast<int64_t>(work.request.input.TotalBytes());
    }
    // The next round's inline space, from what every member saw here.
    const int64_t bytes = work.request.input.TotalBytes();
    inline_space_ = work.request.kind == CollectiveKind::kReduce &&
                            bytes > kMinInlineBytes &&
                            bytes <= MaxInlineBytes(size)
                        ? bytes
                        : kMinInlineBytes;
    if (all_inline) {
      work.Done(ReduceInline(work.request, blocks));
      return;
    }
    absl::StatusOr<Tensor> result;
    try {
      result = Transfer(work, offers);
    } catch (const std::exception& e) {
      absl::Status s =
          GlooError(e, absl::StrCat(Where(chosen), " (", Culprits(e), ")"));
      work.Done(ReasonFor(work, s));
      Broken(s);
      return;
    }
    work.Done(std::move(result));
  }

  // Every member offers instances, none in common: wait for more to become
  // ready, unless this has lasted past the order window.
  // (All members decide to give up in the same round: one that stopped
  // exchanging alone would leave the others waiting in the next.)
  void NoCommonInstance(const std::vector<Offer>& all, int size, bool give_up) {
    if (order_stall_ == absl::InfiniteFuture()) order_stall_ = absl::Now();
    if (give_up) {
      std::vector<std::string> parts;
      for (int r = 0; r < size; ++r) {
        std::vector<int64_t> keys;
        for (const Offer& o : OffersOf(all, r)) {
          if (o.instance_key != kNoOffer) keys.push_back(o.instance_key);
        }
        parts.push_back(absl::StrCat(RankName(r), " waits on instance(s) ",
                                     absl::StrJoin(keys, ",")));
      }
      FailAll(absl::FailedPreconditionError(
          absl::StrCat("collective group ", group_key_,
                       ": members run their collectives in different orders: ",
                       absl::StrJoin(parts, "; "))));
      order_stall_ = absl::InfiniteFuture();
      return;
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Milliseconds(1));
  }

  // Whether the members' parts of one instance fit together.
  absl::Status Agree(int64_t key, const std::vector<Offer>& offers) const {
    const int size = static_cast<int>(offers.size());
    auto disagree = [&](const std::string& what) {
      std::vector<std::string> parts;
      for (int r = 0; r < size; ++r) {
        parts.push_back(
            absl::StrCat(RankName(r), " ", DescribeOffer(offers[r])));
      }
      return absl::FailedPreconditionError(
          absl::StrCat(Where(key), ": members disagree on ", what, ": ",
                       absl::StrJoin(parts, "; ")));
    };
    const Offer& first = offers[0];
    const auto bcast = [](const Offer& o) {
      return o.kind == static_cast<int>(CollectiveKind::kBcastSend) ||
             o.kind == static_cast<int>(CollectiveKind::kBcastRecv);
    };
    int senders = 0;
    for (const Offer& o : offers) {
      if (o.group_size != size) return disagree("the group size");
      if (bcast(o) != bcast(first) || (!bcast(o) && o.kind != first.kind)) {
        return disagree("the kind of collective");
      }
      if (o.dtype != first.dtype) return disagree("the dtype");
      senders += o.kind == static_cast<int>(CollectiveKind::kBcastSend);
      if (o.ndims > kMaxDims) return disagree("a rank above 26");
    }
    if (bcast(first) && senders != 1) {
      return disagree(
          absl::StrCat("the sender (", senders, " members send, one must)"));
    }
    for (const Offer& o : offers) {
      const bool gather = o.kind == static_cast<int>(CollectiveKind::kGather);
      if (o.ndims != first.ndims ||
          !std::equal(o.dims + (gather ? 1 : 0), o.dims + o.ndims,
                      first.dims + (gather ? 1 : 0))) {
        return disagree("the shape");
      }
      if (o.merge != first.merge || o.final_op != first.final_op) {
        return disagree("the merge or final op");
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Tensor> Transfer(Work& work,
                                  const std::vector<Offer>& offers) {
    const CollectiveRequest& r = work.request;
    const auto timeout = ToChrono(work.deadline);
    switch (r.kind) {
      case CollectiveKind::kReduce:
        return Reduce(r, timeout);
      case CollectiveKind::kGather:
        return Gather(r, offers, timeout);
      default:
        return Broadcast(r, offers, timeout);
    }
  }

  // Where a reduce's result goes: the request's output buffer (which holds
  // the input), else a new tensor, holding a copy of the input when
  // `with_input`.
  static absl::StatusOr<Tensor> ResultBuffer(const CollectiveRequest& r,
                                             bool with_input) {
    if (r.output.IsInitialized()) return r.output;
    ASSIGN_OR_RETURN(Tensor out, Tensor::CreateUninitialized(
                                     r.input.dtype(), r.shape, r.allocator));
    if (with_input && r.input.TotalBytes() > 0) {
      std::memcpy(out.raw_data(), r.input.raw_data(), r.input.TotalBytes());
    }
    return out;
  }

  absl::StatusOr<Tensor> Reduce(const CollectiveRequest& r,
                                std::chrono::milliseconds timeout) {
    ASSIGN_OR_RETURN(Tensor out, ResultBuffer(r, /*with_input=*/true));
    const int size = static_cast<int>(members_.size());
    if (out.NumElements() > 0 && size > 1) {
      gloo::AllreduceOptions opts(context_);
      const bool ring = r.communication_hint == "ring" ||
                        out.TotalBytes() >= owner_->options_.small_reduce_bytes;
      opts.setAlgorithm(ring ? gloo::AllreduceOptions::Algorithm::RING
                             : gloo::AllreduceOptions::Algorithm::BCUBE);
      opts.setTag(1);
      opts.setTimeout(timeout);
      if (ring) opts.setMaxSegmentSize(owner_->options_.RingSegmentBytes(size));
      const int merge = MergeCode(r.merge_op);
      absl::Status typed = ForReducedType(out.dtype(), [&](auto zero) {
        using T = decltype(zero);
        opts.setOutput(out.flat<T>().data(), out.NumElements());
        opts.setReduceFunction(ReduceFunc<T>(merge));
      });
      if (!typed.ok()) {
        return absl::UnimplementedError(
            absl::StrCat("node '", r.node, "': ", typed.message()));
      }
      gloo::allreduce(opts);
    }
    if (r.final_op == "Div") {
      RETURN_IF_ERROR(ForReducedType(out.dtype(), [&](auto zero) {
        DivideBy<decltype(zero)>(&out, size);
      }));
    }
    return out;
  }

  // The reduce of every member's inline part, in rank order.
  absl::StatusOr<Tensor> ReduceInline(const CollectiveRequest& r,
                                      const RoundBlocks& blocks) {
    ASSIGN_OR_RETURN(Tensor out, ResultBuffer(r, /*with_input=*/false));
    const size_t bytes = out.TotalBytes();
    if (bytes > 0) std::memcpy(out.raw_data(), blocks.inline_data(0), bytes);
    const int merge = MergeCode(r.merge_op);
    RETURN_IF_ERROR(ForReducedType(out.dtype(), [&](auto zero) {
      using T = decltype(zero);
      gloo::AllreduceOptions::Func f = ReduceFunc<T>(merge);
      for (size_t m = 1; m < members_.size(); ++m) {
        f(out.raw_data(), out.raw_data(),
          const_cast<char*>(blocks.inline_data(m)),
          static_cast<size_t>(out.NumElements()));
      }
      if (r.final_op == "Div") {
        DivideBy<T>(&out, static_cast<int>(members_.size()));
      }
    }));
    return out;
  }

  absl::StatusOr<Tensor> Gather(const CollectiveRequest& r,
                                const std::vector<Offer>& offers,
                                std::chrono::milliseconds timeout) {
    const int64_t inner = InnerElements(r.shape);
    std::vector<int64_t> dims(r.shape.dim_sizes().begin(),
                              r.shape.dim_sizes().end());
    dims[0] = 0;
    std::vector<size_t> counts;
    for (const Offer& o : offers) {
      dims[0] += o.dims[0];
      counts.push_back(static_cast<size_t>(o.dims[0] * inner) *
                       DataTypeSize(r.input.dtype()));
    }
    ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Create(dims));
    ASSIGN_OR_RETURN(Tensor out, Tensor::CreateUninitialized(
                                     r.input.dtype(), shape, r.allocator));
    if (out.NumElements() == 0) return out;
    if (offers.size() == 1) {
      std::memcpy(out.raw_data(), r.input.raw_data(), r.input.TotalBytes());
      return out;
    }
    gloo::AllgathervOptions opts(context_);
    opts.setInput(static_cast<char*>(r.input.raw_data()), r.input.TotalBytes());
    opts.setOutput(static_cast<char*>(out.raw_data()), counts);
    opts.setTag(2);
    opts.setTimeout(timeout);
    gloo::allgatherv(opts);
    return out;
  }

  absl::StatusOr<Tensor> Broadcast(const CollectiveRequest& r,
                                   const std::vector<Offer>& offers,
                                   std::chrono::milliseconds timeout) {
    int root = 0;
    for (size_t i = 0; i < offers.size(); ++i) {
      if (offers[i].kind == static_cast<int>(CollectiveKind::kBcastSend)) {
        root = static_cast<int>(i);
      }
    }
    Tensor out;
    if (r.kind == CollectiveKind::kBcastSend) {
      out = r.input;
    } else {
      ASSIGN_OR_RETURN(
          out, Tensor::CreateUninitialized(r.dtype, r.shape, r.allocator));
    }
    if (out.TotalBytes() == 0 || offers.size() == 1) return out;
    gloo::BroadcastOptions opts(context_);
    opts.setRoot(root);
    opts.setTag(3);
    opts.setTimeout(timeout);
    // Every rank names an output; the root's is what it sends.
    opts.setOutput(static_cast<char*>(out.raw_data()), out.TotalBytes());
    gloo::broadcast(opts);
    return out;
  }

  static int64_t InnerElements(const TensorShape& shape) {
    int64_t n = 1;
    for (int d = 1; d < shape.dims(); ++d) n *= shape.dim_size(d);
    return n;
  }

  static std::chrono::milliseconds ToChrono(absl::Time deadline) {
    const absl::Duration left =
        std::max(deadline - absl::Now(), absl::Milliseconds(1));
    return std::chrono::milliseconds(
        std::min<int64_t>(absl::ToInt64Milliseconds(left), INT32_MAX));
  }

  Work Take(int64_t key) {
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(key);
    Work w = std::move(it->second.front());
    in_flight_ = w.request.cancellation;
    it->second.pop_front();
    if (it->second.empty()) pending_.erase(it);
    return w;
  }

  // The group broke under a transfer: whatever waits fails with its error,
  // and the next collective forms the group anew.
  void Broken(const absl::Status& why) {
    DropContext();
    FailAll(why);
  }

  void FailAll(const absl::Status& why) {
    std::map<int64_t, std::deque<Work>> failed;
    {
      absl::MutexLock lock(&mu_);
      failed.swap(pending_);
    }
    for (auto& [key, works] : failed) {
      for (auto& w : works) w.Done(ReasonFor(w, why));
    }
  }

  void FailExpired() {
    const absl::Time now = absl::Now();
    std::vector<Work> expired;
    {
      absl::MutexLock lock(&mu_);
      for (auto it = pending_.begin(); it != pending_.end();) {
        auto& works = it->second;
        for (auto w = works.begin(); w != works.end();) {
          if (w->deadline < now || IsCancelled(*w)) {
            expired.push_back(std::move(*w));
            w = works.erase(w);
          } else {
            ++w;
          }
        }
        if (works.empty()) {
          pending_.erase(it++);
        } else {
          ++it;
        }
      }
    }
    for (Work& w : expired) {
      w.Done(absl::DeadlineExceededError(
          absl::StrCat(Where(w.request.instance_key), " on ", device_,
                       ": the other members did not take part in time")));
    }
  }

  GlooCollectiveExecutor* const owner_;
  const int32_t group_key_;
  const std::string device_;
  // Only the member's thread touches these after Connect, but the
  // destructor reads context_ (to close it) under mu_.
  int64_t generation_ = 0;
  std::vector<std::string> members_;
  // peer_addresses_[r]: the address of rank r's connection to this member.
  std::vector<std::string> peer_addresses_;
  absl::Time order_stall_ = absl::InfiniteFuture();
  // The round's inline space (see kMinInlineBytes); Member thread only.
  int64_t inline_space_ = kMinInlineBytes;
  absl::Mutex mu_;
  std::shared_ptr<gloo::Context> context_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // In a round (exchanging offers or transferring), and the cancellation of
  // the work being transferred.
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  // Interrupt ended works during the exchange of offers.
  bool abandon_round_ ABSL_GUARDED_BY(mu_) = false;
  const StepCancellation* in_flight_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<int64_t, std::deque<Work>> pending_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

GlooCollectiveExecutor::GlooCollectiveExecutor(CoordinatorClient* coordinator,
                                               GlooExecutorOptions options)
    : coordinator_(coordinator), options_(std::move(options)) {}

GlooCollectiveExecutor::~GlooCollectiveExecutor() { Shutdown(); }

void GlooCollectiveExecutor::Shutdown() {
  absl::flat_hash_map<std::pair<int32_t, std::string>, std::unique_ptr<Member>>
      members;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    members.swap(members_);
  }
  members.clear();  // Each stops its thread.
}

absl::StatusOr<std::shared_ptr<gloo::transport::Device>>
GlooCollectiveExecutor::TransportDevice() {
  absl::MutexLock lock(&mu_);
  if (device_ == nullptr) {
    try {
      gloo::transport::tcp::attr attr;
      attr.hostname = options_.hostname;
      device_ = gloo::transport::tcp::CreateDevice(attr);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen for collectives on ", options_.hostname,
                       ": ", e.what()));
    }
  }
  return device_;
}

void GlooCollectiveExecutor::Cancel(int32_t group_key,
                                    const std::string& device) {
  // Under the lock: Shutdown destroys the members.
  absl::MutexLock lock(&mu_);
  auto it = members_.find({group_key, device});
  if (it != members_.end()) it->second->Interrupt();
}

void GlooCollectiveExecutor::RunAsync(CollectiveRequest request,
                                      DoneCallback done) {
  Member* member = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      member = nullptr;
    } else {
      auto& slot = members_[{request.group_key, request.device}];
      if (slot == nullptr) {
        slot =
            std::make_unique<Member>(this, request.group_key, request.device);
      }
      member = slot.get();
    }
  }
  if (member == nullptr) {
    done(absl::CancelledError("the collective executor is stopping"));
    return;
  }
  member->Add(std::move(request), std::move(done));
}

}  // namespace rill
