// Candidate samplers and ComputeAccidentalHits. The seeded samplers' draws
// and expected counts over two steps are TensorFlow 2.21's for the same
// attrs (tf.compat.v1 Session, raw ops).
#include <vector>

#include "absl/strings/match.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

struct Draw {
  std::vector<int64_t> sampled;
  std::vector<float> true_count;
  std::vector<float> sampled_count;
};

// Runs the sampler `build` makes for two steps and compares each.
void ExpectDraws(const std::function<Output(const Scope&, Output)>& build,
                 const std::vector<std::vector<int64_t>>& classes,
                 const std::vector<Draw>& steps) {
  Scope root = Scope::NewRootScope();
  Output sampler = build(root.WithOpName("sampler"),
                         ops::Const(root, Tensor::FromVector<int64_t>(
                                              {classes[0][0], classes[0][1],
                                               classes[1][0], classes[1][1]},
                                              TensorShape({2, 2}))));
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  for (size_t step = 0; step < steps.size(); ++step) {
    auto got = (*session)->Run({}, {"sampler:0", "sampler:1", "sampler:2"}, {});
    ASSERT_TRUE(got.ok()) << got.status();
    const Draw& want = steps[step];
    const std::string what = absl::StrCat("step ", step);
    const int64_t n = static_cast<int64_t>(want.sampled.size());
    ExpectClose((*got)[0], Tensor::FromVector<int64_t>(want.sampled), what);
    const Tensor& true_count = (*got)[1];
    ASSERT_EQ(true_count.shape(), TensorShape({2, 2})) << what;
    for (int i = 0; i < 4; ++i) {
      EXPECT_FLOAT_EQ(true_count.flat<float>()[i], want.true_count[i]) << what;
    }
    const Tensor& sampled_count = (*got)[2];
    ASSERT_EQ(sampled_count.NumElements(), n) << what;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_FLOAT_EQ(sampled_count.flat<float>()[i], want.sampled_count[i])
          << what;
    }
  }
}

TEST(CandidateSamplingTest, UniformIsTensorFlows) {
  const float p = 5.999982022331096e-06f;
  ExpectDraws(
      [](const Scope& s, Output classes) {
        return ops::UniformCandidateSampler(
                   s, classes, 2, 6, false, 1000003,
                   ops::UniformCandidateSampler::Seed(7).Seed2(11))
            .sampled_candidates;
      },
      {{1, 5}, {7, 19}},
      {{{526917, 919840, 239232, 282335, 154953, 186879},
        std::vector<float>(4, p),
        std::vector<float>(6, p)},
       {{766184, 68139, 230204, 779689, 37667, 301084},
        std::vector<float>(4, p),
        std::vector<float>(6, p)}});
}

TEST(CandidateSamplingTest, UniqueUniformCountsItsTries) {
  // Step 0 drew 6 distinct classes in 6 tries (p * 6 = 0.75); step 1 took
  // more, so each count is 1 - (1 - 1/8)^tries.
  ExpectDraws(
      [](const Scope& s, Output classes) {
        return ops::UniformCandidateSampler(
                   s, classes, 2, 6, true, 8,
                   ops::UniformCandidateSampler::Seed(7).Seed2(11))
            .sampled_candidates;
      },
      {{1, 5}, {7, 3}},
      {{{5, 3, 7, 0, 2, 4},
        std::vector<float>(4, 0.75f),
        std::vector<float>(6, 0.75f)},
       {{2, 3, 1, 6, 7, 4},
        std::vector<float>(4, 0.6563910841941833f),
        std::vector<float>(6, 0.6563910841941833f)}});
}

TEST(CandidateSamplingTest, LogUniformIsTensorFlows) {
  const std::vector<float> true_count = {
      0.41249552369117737f, 0.1568235158920288f, 0.11982528865337372f,
      0.04963614046573639f};
  ExpectDraws(
      [](const Scope& s, Output classes) {
        return ops::LogUniformCandidateSampler(
                   s, classes, 2, 4, false, 50,
                   ops::LogUniformCandidateSampler::Seed(3).Seed2(4))
            .sampled_candidates;
      },
      {{1, 5}, {7, 19}},
      {{{3, 8, 2, 28},
        true_count,
        {0.22701266407966614f, 0.10718737542629242f, 0.29267022013664246f,
         0.03448937460780144f}},
       {{8, 19, 14, 0},
        true_count,
        {0.10718737542629242f, 0.04963614046573639f, 0.06565756350755692f,
         0.7051657438278198f}}});
}

TEST(CandidateSamplingTest, AllAndAccidentalHits) {
  RunCases({
      {"AllCandidateSampler draws every class once",
       [](const Scope& s) {
         return ops::AllCandidateSampler(
                    s,
                    ops::Const(s, Tensor::FromVector<int64_t>(
                                      {2}, TensorShape({1, 1}))),
                    1, 3, true)
             .sampled_candidates;
       },
       Tensor::FromVector<int64_t>({0, 1, 2})},
      {"ComputeAccidentalHits: rows of true classes that were sampled",
       [](const Scope& s) {
         auto hits = ops::ComputeAccidentalHits(
             s,
             ops::Const(s, Tensor::FromVector<int64_t>({1, 4, 7, 1},
                                                       TensorShape({2, 2}))),
             ops::Const(s, Tensor::FromVector<int64_t>({9, 1, 7, 1})), 2);
         // rows [0, 1, 1], ids [3, 2, 3]: one tensor to compare.
         return ops::ConcatV2(
             s, {ops::Cast(s, hits.indices, DT_INT64), hits.ids}, 0);
       },
       Tensor::FromVector<int64_t>({0, 1, 1, 3, 2, 3})},
  });
}

TEST(CandidateSamplingTest, BadInputsAreRefused) {
  absl::Status out_of_range = RunStatus([](const Scope& s) {
    return ops::UniformCandidateSampler(
               s,
               ops::Const(
                   s, Tensor::FromVector<int64_t>({9}, TensorShape({1, 1}))),
               1, 2, false, 8)
        .sampled_candidates;
  });
  EXPECT_TRUE(absl::StrContains(out_of_range.message(),
                                "true class 9 is out of range [0, 8)"))
      << out_of_range;
  absl::Status too_few = RunStatus([](const Scope& s) {
    return ops::UniformCandidateSampler(
               s,
               ops::Const(
                   s, Tensor::FromVector<int64_t>({1}, TensorShape({1, 1}))),
               1, 9, true, 8)
        .sampled_candidates;
  });
  EXPECT_TRUE(absl::StrContains(too_few.message(),
                                "num_sampled 9 unique classes cannot be drawn"))
      << too_few;
}

}  // namespace
}  // namespace rill
