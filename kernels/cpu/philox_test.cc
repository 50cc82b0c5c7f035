#include "kernels/cpu/philox.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatNear;
using ::testing::Pointwise;

// The known-answer vectors published with Random123 for philox4x32-10.
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_THAT(Philox({0, 0, 0, 0}, {0, 0}).Next(),
              ElementsAre(0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8));
  const uint32_t ones = 0xffffffff;
  EXPECT_THAT(Philox({ones, ones, ones, ones}, {ones, ones}).Next(),
              ElementsAre(0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd));
  EXPECT_THAT(Philox({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                     {0xa4093822, 0x299f31d0})
                  .Next(),
              ElementsAre(0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1));
}

TEST(PhiloxTest, SkipCarriesAcrossWords) {
  Philox gen({0xffffffff, 0xffffffff, 0xffffffff, 0}, {1, 2});
  gen.Skip(1);
  EXPECT_THAT(gen.counter(), ElementsAre(0, 0, 0, 1));
  Philox other({5, 0, 0, 0}, {1, 2});
  other.Skip(uint64_t{3} << 32 | 0xfffffffe);
  EXPECT_THAT(other.counter(), ElementsAre(3, 4, 0, 0));
  // Next() is the block at the counter, then Skip(1).
  Philox a({7, 0, 0, 0}, {1, 2}), b({6, 0, 0, 0}, {1, 2});
  b.Next();
  EXPECT_EQ(a.Next(), b.Next());
}

// The values below are what TensorFlow 2.21's kernels give for the same
// seeds: tf.compat.v1.random_uniform([6], seed=1) under graph seed 42 is a
// RandomUniform with seed 42, seed2 1, and so on.
std::vector<float> Floats(void (*fill)(const Philox&, float*, int64_t),
                          const Philox& gen, int n) {
  std::vector<float> out(n);
  fill(gen, out.data(), n);
  return out;
}

std::vector<double> Doubles(void (*fill)(const Philox&, double*, int64_t),
                            const Philox& gen, int n) {
  std::vector<double> out(n);
  fill(gen, out.data(), n);
  return out;
}

TEST(PhiloxTest, FloatsAsTensorFlowDrawsThem) {
  EXPECT_THAT(
      Floats(FillUniform<float>, Philox(42, 1), 6),
      Pointwise(FloatNear(1e-7), {0.15012848f, 0.63992536f, 0.81787777f,
                                  0.34572172f, 0.99661934f, 0.64152765f}));
  EXPECT_THAT(Floats(FillNormal<float>, Philox(42, 2), 5),
              Pointwise(FloatNear(1e-6), {0.11935384f, -0.10138488f, 0.5291172f,
                                          0.054500744f, 0.54691064f}));
  // Values past two standard deviations are redrawn; each group of four
  // has its own stretch of the stream.
  EXPECT_THAT(Floats(FillTruncatedNormal<float>, Philox(42, 3), 10),
              Pointwise(FloatNear(1e-6),
                        {0.8021455f, 0.505679f, 1.8120127f, -0.03189123f,
                         0.36362436f, -0.3596657f, 0.71621776f, -0.7485489f,
                         0.50655407f, 0.3115288f}));
}

TEST(PhiloxTest, DoublesAsTensorFlowDrawsThem) {
  EXPECT_THAT(
      Doubles(FillUniform<double>, Philox(42, 1), 3),
      Pointwise(DoubleNear(1e-9), {0.201027991, 0.543022834, 0.972955696}));
  EXPECT_THAT(
      Doubles(FillNormal<double>, Philox(42, 2), 3),
      Pointwise(DoubleNear(1e-9), {-0.154325272, 0.425853524, 0.134492398}));
  EXPECT_THAT(
      Doubles(FillTruncatedNormal<double>, Philox(42, 3), 3),
      Pointwise(DoubleNear(1e-9), {-0.638505244, 0.488530625, -1.751273791}));
}

TEST(PhiloxTest, AStepReservesItsBlocks) {
  // A stateful op's second step starts past what its first reserved.
  Philox gen(42, 1);
  gen.Skip(BlocksReserved(6));
  EXPECT_THAT(
      Floats(FillUniform<float>, gen, 6),
      Pointwise(FloatNear(1e-7), {0.011772156f, 0.025296569f, 0.060124755f,
                                  0.5448892f, 0.3730942f, 0.6073855f}));
}

TEST(PhiloxTest, Integers) {
  std::vector<int32_t> small(7);
  FillUniformInt<int32_t>(Philox(42, 4), -3, 13, small.data(), 7);
  EXPECT_THAT(small, ElementsAre(9, 2, 0, -1, -3, 8, 5));
  std::vector<int64_t> large(5);
  FillUniformInt<int64_t>(Philox(42, 5), -3, 1000003, large.data(), 5);
  EXPECT_THAT(large, ElementsAre(719630, 325335, 488553, 151193, 641734));
  // The whole int32 range: lo + offset wraps through unsigned arithmetic.
  std::vector<int32_t> full(4);
  FillUniformInt<int32_t>(Philox(1, 1), INT32_MIN, -1, full.data(), 4);
  for (int32_t v : full) EXPECT_LT(v, INT32_MAX);
}

TEST(PhiloxTest, StatelessSeedsAsTensorFlowMixesThem) {
  // StatelessRandomGetKeyCounter([1, 2]) in TensorFlow: key
  // 10413732777507651514, counter [0, 17830669156045600267].
  const Philox gen = StatelessPhilox(1, 2);
  const uint64_t key = gen.key()[0] | uint64_t{gen.key()[1]} << 32;
  EXPECT_EQ(key, 10413732777507651514u);
  EXPECT_THAT(gen.counter(),
              ElementsAre(0, 0, static_cast<uint32_t>(17830669156045600267u),
                          static_cast<uint32_t>(17830669156045600267u >> 32)));
  EXPECT_THAT(
      Floats(FillUniform<float>, gen, 3),
      Pointwise(FloatNear(1e-7), {0.8440604f, 0.19204533f, 0.9962232f}));
  std::vector<int32_t> ints(5);
  FillUniformInt<int32_t>(StatelessPhilox(7, 8), -5, 10, ints.data(), 5);
  EXPECT_THAT(ints, ElementsAreArray({4, 3, 4, 0, 4}));
}

}  // namespace
}  // namespace rill
