#include "kernels/cpu/philox.h"

#include <bit>
#include <cmath>
#include <numbers>
#include <type_traits>

namespace rill {
namespace {

// Philox4x32's multipliers and its key schedule's increments (the golden
// ratio and sqrt(3) - 1 as 32-bit fractions).
constexpr uint32_t kMulA = 0xD2511F53;
constexpr uint32_t kMulB = 0xCD9E8D57;
constexpr uint32_t kKeyStepA = 0x9E3779B9;
constexpr uint32_t kKeyStepB = 0xBB67AE85;
constexpr int kRounds = 10;

Philox::Block Rounds(Philox::Block c, Philox::Key k) {
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t p0 = uint64_t{kMulA} * c[0];
    const uint64_t p1 = uint64_t{kMulB} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0],
         static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1],
         static_cast<uint32_t>(p0)};
    k[0] += kKeyStepA;
    k[1] += kKeyStepB;
  }
  return c;
}

// Values in [0, 1): random mantissa bits under the exponent of 1, minus 1.
float ToFloat(uint32_t x) {
  return std::bit_cast<float>((x & 0x7fffffu) | (127u << 23)) - 1.0f;
}

// `hi` gives the top 20 mantissa bits, `lo` the other 32.
double ToDouble(uint32_t hi, uint32_t lo) {
  const uint64_t mantissa = (uint64_t{hi & 0xfffffu} << 32) | lo;
  return std::bit_cast<double>(mantissa | (uint64_t{1023} << 52)) - 1.0;
}

// Box-Muller: two normal values from two uniform ones, the first clamped
// away from zero. TensorFlow's float form scales the angle in double.
void BoxMuller(uint32_t x0, uint32_t x1, float* f0, float* f1) {
  const float u1 = std::max(ToFloat(x0), 1.0e-7f);
  const float angle = static_cast<float>(2.0 * std::numbers::pi * ToFloat(x1));
  const float radius = std::sqrt(-2.0f * std::log(u1));
  *f0 = std::sin(angle) * radius;
  *f1 = std::cos(angle) * radius;
}

void BoxMuller(uint32_t x0, uint32_t x1, uint32_t x2, uint32_t x3, double* d0,
               double* d1) {
  const double u1 = std::max(ToDouble(x0, x1), 1.0e-7);
  const double angle = 2.0 * std::numbers::pi * ToDouble(x2, x3);
  const double radius = std::sqrt(-2.0 * std::log(u1));
  *d0 = std::sin(angle) * radius;
  *d1 = std::cos(angle) * radius;
}

// Values per block: four floats or 32-bit integers, two doubles or 64-bit
// integers.
template <typename T>
constexpr int kPerBlock = sizeof(T) == 8 ? 2 : 4;

// Fills `out` group by group, group g from block g of the stream: `make`
// turns a block into kPerBlock<T> values.
template <typename T, typename Make>
void FillByBlock(const Philox& gen, T* out, int64_t n, Make make) {
  Philox g = gen;
  for (int64_t i = 0; i < n; i += kPerBlock<T>) {
    T values[kPerBlock<T>];
    make(g.Next(), values);
    for (int j = 0; j < kPerBlock<T> && i + j < n; ++j) out[i + j] = values[j];
  }
}

// One word at a time from a generator's blocks.
class Words {
 public:
  explicit Words(Philox gen) : gen_(gen) {}
  uint32_t operator()() {
    if (used_ == 4) {
      block_ = gen_.Next();
      used_ = 0;
    }
    return block_[used_++];
  }

 private:
  Philox gen_;
  Philox::Block block_{};
  int used_ = 4;
};

}  // namespace

Philox::Philox(uint64_t seed, uint64_t seed2)
    : counter_{0, 0, static_cast<uint32_t>(seed2),
               static_cast<uint32_t>(seed2 >> 32)},
      key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)} {}

Philox::Block Philox::Next() {
  const Block out = Rounds(counter_, key_);
  Skip(1);
  return out;
}

void Philox::Skip(uint64_t blocks) {
  const uint32_t lo = static_cast<uint32_t>(blocks);
  uint32_t hi = static_cast<uint32_t>(blocks >> 32);
  counter_[0] += lo;
  if (counter_[0] < lo) ++hi;  // Carried out of the lowest word.
  counter_[1] += hi;
  if (counter_[1] < hi && ++counter_[2] == 0) ++counter_[3];
}

Philox StatelessPhilox(uint64_t seed0, uint64_t seed1) {
  const Philox::Block seeds = {
      static_cast<uint32_t>(seed0), static_cast<uint32_t>(seed0 >> 32),
      static_cast<uint32_t>(seed1), static_cast<uint32_t>(seed1 >> 32)};
  const Philox::Block mix = Philox(seeds, {0x3ec8f720, 0x02461e29}).Next();
  return Philox({0, 0, mix[2], mix[3]}, {mix[0], mix[1]});
}

template <typename T>
void FillUniform(const Philox& gen, T* out, int64_t n) {
  FillByBlock(gen, out, n, [](const Philox::Block& b, T* v) {
    if constexpr (std::is_same_v<T, float>) {
      for (int i = 0; i < 4; ++i) v[i] = ToFloat(b[i]);
    } else {
      v[0] = ToDouble(b[0], b[1]);
      v[1] = ToDouble(b[2], b[3]);
    }
  });
}

template <typename T>
void FillNormal(const Philox& gen, T* out, int64_t n) {
  FillByBlock(gen, out, n, [](const Philox::Block& b, T* v) {
    if constexpr (std::is_same_v<T, float>) {
      BoxMuller(b[0], b[1], &v[0], &v[1]);
      BoxMuller(b[2], b[3], &v[2], &v[3]);
    } else {
      BoxMuller(b[0], b[1], b[2], b[3], &v[0], &v[1]);
    }
  });
}

template <typename T>
void FillTruncatedNormal(const Philox& gen, T* out, int64_t n) {
  // Each group of kPerBlock<T> values draws as many words as it needs from
  // its own stretch of the stream, which starts this many blocks after the
  // previous group's.
  constexpr uint64_t kBlocksPerGroup = BlocksReserved(kPerBlock<T>) / 4;
  constexpr T kBound = 2;
  for (int64_t i = 0, group = 0; i < n; i += kPerBlock<T>, ++group) {
    Philox g = gen;
    g.Skip(group * kBlocksPerGroup);
    Words words(g);
    int j = 0;
    while (j < kPerBlock<T> && i + j < n) {
      T pair[2];
      if constexpr (std::is_same_v<T, float>) {
        const uint32_t x0 = words(), x1 = words();
        BoxMuller(x0, x1, &pair[0], &pair[1]);
      } else {
        const uint32_t x0 = words(), x1 = words(), x2 = words(), x3 = words();
        BoxMuller(x0, x1, x2, x3, &pair[0], &pair[1]);
      }
      for (T v : pair) {
        if (std::abs(v) < kBound && j < kPerBlock<T> && i + j < n) {
          out[i + j++] = v;
        }
      }
    }
  }
}

template <typename T>
void FillUniformInt(const Philox& gen, T lo, T range, T* out, int64_t n) {
  using U = std::make_unsigned_t<T>;
  const U urange = static_cast<U>(range);
  FillByBlock(gen, out, n, [&](const Philox::Block& b, T* v) {
    // Added as unsigned: lo + offset may pass through T's overflow.
    if constexpr (sizeof(T) == 4) {
      for (int i = 0; i < 4; ++i) {
        v[i] = static_cast<T>(static_cast<U>(lo) + b[i] % urange);
      }
    } else {
      for (int i = 0; i < 2; ++i) {
        const uint64_t bits = b[2 * i] | (uint64_t{b[2 * i + 1]} << 32);
        v[i] = static_cast<T>(static_cast<U>(lo) + bits % urange);
      }
    }
  });
}

template void FillUniform(const Philox&, float*, int64_t);
template void FillUniform(const Philox&, double*, int64_t);
template void FillNormal(const Philox&, float*, int64_t);
template void FillNormal(const Philox&, double*, int64_t);
template void FillTruncatedNormal(const Philox&, float*, int64_t);
template void FillTruncatedNormal(const Philox&, double*, int64_t);
template void FillUniformInt(const Philox&, int32_t, int32_t, int32_t*,
                             int64_t);
template void FillUniformInt(const Philox&, int64_t, int64_t, int64_t*,
                             int64_t);
template void FillUniformInt(const Philox&, uint32_t, uint32_t, uint32_t*,
                             int64_t);
template void FillUniformInt(const Philox&, uint64_t, uint64_t, uint64_t*,
                             int64_t);

}  // namespace rill
