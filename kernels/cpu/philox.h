// TensorFlow's random numbers: the Philox4x32-10 counter-based generator
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
// and the ways TensorFlow's kernels turn its bits into values, so that a
// seeded random op gives TensorFlow's numbers.
//
// A generator is a 128-bit counter and a 64-bit key; each call returns the
// block of four 32-bit words for the counter and then advances it. Blocks
// are independent of one another, so an output of n values is filled in
// groups, each group from its own position in the stream.
#ifndef RILL_KERNELS_CPU_PHILOX_H_
#define RILL_KERNELS_CPU_PHILOX_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <limits>

namespace rill {

class Philox {
 public:
  using Block = std::array<uint32_t, 4>;
  using Key = std::array<uint32_t, 2>;

  // TensorFlow's seeding for a stateful op's (seed, seed2) attrs: the key
  // from `seed`, the counter's upper half from `seed2`.
  Philox(uint64_t seed, uint64_t seed2);
  Philox(const Block& counter, const Key& key) : counter_(counter), key_(key) {}

  // The block at the counter; then the counter moves on by one.
  Block Next();
  // Moves the counter on by `blocks`.
  void Skip(uint64_t blocks);

  const Block& counter() const { return counter_; }
  const Key& key() const { return key_; }

 private:
  Block counter_;
  Key key_;
};

// The generator a stateless op uses for a seed pair (its "seed" input, or
// StatelessRandomGetKeyCounter's): the seeds mixed by one Philox block.
Philox StatelessPhilox(uint64_t seed0, uint64_t seed1);

// Fill `n` values from `gen`'s stream as TensorFlow's kernels do. Float
// and double only for the first three; int32, int64, uint32 and uint64 for
// the last, which draws from [lo, lo + range).
template <typename T>
void FillUniform(const Philox& gen, T* out, int64_t n);
template <typename T>
void FillNormal(const Philox& gen, T* out, int64_t n);
// Normal values redrawn until within two standard deviations.
template <typename T>
void FillTruncatedNormal(const Philox& gen, T* out, int64_t n);
template <typename T>
void FillUniformInt(const Philox& gen, T lo, T range, T* out, int64_t n);

// A generator's words one at a time, and TensorFlow's ways (SimplePhilox's)
// of making integers and doubles from them.
class WordStream {
 public:
  explicit WordStream(const Philox& gen) : gen_(gen) {}
  uint32_t Next32() {
    if (used_ == 4) {
      block_ = gen_.Next();
      used_ = 0;
    }
    return block_[used_++];
  }
  uint64_t Next64() {
    const uint64_t lo = Next32();
    return lo | (uint64_t{Next32()} << 32);
  }
  // Uniform in [0, 1): 52 random mantissa bits under the exponent of 1.
  double NextDouble() {
    const uint64_t hi = Next32() & 0xfffffu;
    const uint64_t bits = (uint64_t{1023} << 52) | (hi << 32) | Next32();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    return d - 1.0;
  }
  // Exactly uniform in [0, n): draws below 2^64 mod n are redrawn.
  uint64_t Uniform64(uint64_t n) {
    const uint64_t rejected =
        (std::numeric_limits<uint64_t>::max() % n + 1) % n;
    while (true) {
      const uint64_t bits = Next64();
      if (bits >= rejected) return bits % n;
    }
  }

 private:
  Philox gen_;
  Philox::Block block_{};
  int used_ = 4;
};

// How many blocks a stateful op's step reserves for an output of `n`
// values: the next step starts past them (TensorFlow's margin for
// distributions that draw a variable number of samples).
constexpr uint64_t BlocksReserved(int64_t n) {
  return static_cast<uint64_t>(n) * 256;
}

}  // namespace rill

#endif  // RILL_KERNELS_CPU_PHILOX_H_
