// An MLP classifier for the 8x8 handwritten digits (examples/data, made by
// examples/data/make_digits.py from the copy Debian's python3-sklearn
// ships), trained with Adam.
//
//   bazel-bin/examples/mlp_digits --data_dir=examples/data --epochs=30 \
//       --checkpoint_dir=/tmp/digits [--resume]
//
// 64 pixels -> hidden ReLU layer -> 10 logits, mean softmax cross-entropy.
// Prints the training loss and the test accuracy after every epoch, saves
// a checkpoint per epoch, and ends with the final test accuracy.
#include <cmath>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/cc/ops.h"
#include "core/platform/status_macros.h"
#include "examples/example_util.h"
#include "runtime/training/optimizer.h"
#include "tools/tensor_text.h"

ABSL_FLAG(std::string, data_dir, "examples/data",
          "directory of digits_{train,test}_{x,y}.npy");
ABSL_FLAG(int, epochs, 30, "passes over the training set");
ABSL_FLAG(int, batch, 32, "examples per step");
ABSL_FLAG(int, hidden, 64, "hidden units");
ABSL_FLAG(double, lr, 0.003, "Adam learning rate");
ABSL_FLAG(int, seed, 1, "initialization and shuffling seed");
ABSL_FLAG(std::string, checkpoint_dir, "",
          "save a checkpoint here after every epoch");
ABSL_FLAG(bool, resume, false, "continue from the latest checkpoint");

namespace rill::examples {
namespace {

// A dense layer's variables and their initializers (Glorot-uniform weights
// from a seeded random op, zero biases).
Output Dense(const Scope& s, const Output& in, int64_t n_in, int64_t n_out,
             int seed, std::vector<Operation>* inits) {
  auto w = ops::VariableV2(s.WithOpName("w"), PartialTensorShape({n_in, n_out}),
                           DT_FLOAT);
  auto b =
      ops::VariableV2(s.WithOpName("b"), PartialTensorShape({n_out}), DT_FLOAT);
  const float limit = std::sqrt(6.0f / static_cast<float>(n_in + n_out));
  auto uniform = ops::RandomUniform(s, {n_in, n_out}, DT_FLOAT,
                                    ops::RandomUniform::Seed(seed).Seed2(1));
  inits->push_back(
      ops::Assign(
          s, w,
          ops::Mul(s, ops::Sub(s, ops::Mul(s, uniform, 2.0f), 1.0f), limit))
          .operation);
  inits->push_back(ops::Assign(s, b, ops::Fill(s, {n_out}, 0.0f)).operation);
  return ops::BiasAdd(s, ops::MatMul(s, in, w), b);
}

absl::Status Run() {
  const std::string data = absl::GetFlag(FLAGS_data_dir);
  ASSIGN_OR_RETURN(Tensor train_x,
                   tools::ReadNpy(data + "/digits_train_x.npy", DT_FLOAT));
  ASSIGN_OR_RETURN(Tensor train_y,
                   tools::ReadNpy(data + "/digits_train_y.npy", DT_INT32));
  ASSIGN_OR_RETURN(Tensor test_x,
                   tools::ReadNpy(data + "/digits_test_x.npy", DT_FLOAT));
  ASSIGN_OR_RETURN(Tensor test_y,
                   tools::ReadNpy(data + "/digits_test_y.npy", DT_INT32));
  if (train_x.dims() != 2 || train_x.dim_size(0) != train_y.NumElements() ||
      test_x.dims() != 2 || test_x.dim_size(1) != train_x.dim_size(1) ||
      test_x.dim_size(0) != test_y.NumElements()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the digits files in ", data, " do not fit together"));
  }
  const int64_t n = train_x.dim_size(0), features = train_x.dim_size(1);
  const int64_t batch = std::min<int64_t>(absl::GetFlag(FLAGS_batch), n);
  const int hidden = absl::GetFlag(FLAGS_hidden);
  if (batch <= 0 || hidden <= 0) {
    return absl::InvalidArgumentError("--batch and --hidden must be positive");
  }

  Scope root = Scope::NewRootScope();
  auto x = ops::Placeholder(root.WithOpName("x"), DT_FLOAT,
                            ops::Placeholder::Shape({-1, features}));
  auto y = ops::Placeholder(root.WithOpName("y"), DT_INT32,
                            ops::Placeholder::Shape({-1}));
  std::vector<Operation> inits;
  const int seed = absl::GetFlag(FLAGS_seed);
  auto h = ops::Relu(root, Dense(root.NewSubScope("hidden"), x, features,
                                 hidden, seed, &inits));
  Output logits =
      Dense(root.NewSubScope("logits"), h, hidden, 10, seed + 1, &inits);
  auto xent = ops::SparseSoftmaxCrossEntropyWithLogits(root, logits, y);
  auto loss = ops::Mean(root.WithOpName("loss"), xent.loss, {0});
  auto correct = ops::Equal(
      root, ops::ArgMax(root, logits, 1, ops::ArgMax::OutputType(DT_INT32)), y);
  ops::Mean(root.WithOpName("accuracy"), ops::Cast(root, correct, DT_FLOAT),
            {0});
  Operation init_step;
  Output step = CreateGlobalStep(root, &init_step);
  AdamOptimizer adam(absl::GetFlag(FLAGS_lr));
  auto train =
      adam.Minimize(root, loss, {.global_step = step, .name = "train"});
  if (!train.ok()) return train.status();
  inits.insert(inits.end(), adam.initializers().begin(),
               adam.initializers().end());
  inits.push_back(init_step);
  ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
  ASSIGN_OR_RETURN(std::unique_ptr<Saver> saver, Saver::Create(root));
  ::tensorflow::GraphDef def;
  RETURN_IF_ERROR(root.ToGraphDef(&def));
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(def));

  std::printf("training a %lld-%d-10 MLP on %lld digits, testing on %lld\n",
              static_cast<long long>(features), hidden,
              static_cast<long long>(n),
              static_cast<long long>(test_x.dim_size(0)));
  EpochLoop loop{session.get(),
                 saver.get(),
                 absl::GetFlag(FLAGS_checkpoint_dir),
                 absl::GetFlag(FLAGS_resume),
                 absl::GetFlag(FLAGS_epochs),
                 n,
                 batch,
                 static_cast<uint64_t>(seed)};
  double total = 0;  // The epoch's training loss, summed over examples.
  loop.step = [&](int, const std::vector<int64_t>& order, int64_t lo,
                  int64_t hi) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<Tensor> out,
                     session->Run({{"x", Rows(train_x, order, lo, hi)},
                                   {"y", Rows(train_y, order, lo, hi)}},
                                  {"loss"}, {"train"}));
    total += ScalarOf(out[0]) * static_cast<double>(hi - lo);
    return absl::OkStatus();
  };
  loop.end_of_epoch = [&](int epoch) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(std::vector<Tensor> test,
                     session->Run({{"x", test_x}, {"y", test_y}},
                                  {"accuracy", "global_step"}, {}));
    std::printf("epoch %d/%d  train loss %.4f  test accuracy %.4f\n", epoch + 1,
                loop.epochs, total / static_cast<double>(n), ScalarOf(test[0]));
    total = 0;
    return test[1].scalar<int64_t>();
  };
  RETURN_IF_ERROR(RunEpochs(loop));
  ASSIGN_OR_RETURN(
      std::vector<Tensor> test,
      session->Run({{"x", test_x}, {"y", test_y}}, {"accuracy"}, {}));
  std::printf("final test accuracy %.4f\n", ScalarOf(test[0]));
  return absl::OkStatus();
}

}  // namespace
}  // namespace rill::examples

int main(int argc, char** argv) {
  return rill::examples::ExampleMain(argc, argv, "mlp_digits",
                                     "Trains an MLP on the 8x8 digits.",
                                     rill::examples::Run);
}
