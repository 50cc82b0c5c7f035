// A training-like process for the kill-during-save test: it saves a large
// variable over and over, each time filled with the step number, and says
// "saved N" after each checkpoint is in place. With --check it instead
// restores the latest checkpoint of --dir and verifies every element.
//
//   checkpoint_writer --dir=D --mib=64            (until killed)
//   checkpoint_writer --dir=D --check             (exit 0 when intact)
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "core/cc/ops.h"
#include "runtime/training/saver.h"

ABSL_FLAG(std::string, dir, "", "checkpoint directory");
ABSL_FLAG(int, mib, 64, "size of the saved variable in MiB");
ABSL_FLAG(bool, check, false, "verify the latest checkpoint and exit");

namespace rill {
namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "checkpoint_writer: %s\n", s.ToString().c_str());
  return 1;
}

int Main() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int64_t n = int64_t{absl::GetFlag(FLAGS_mib)} * 1024 * 1024 / 4;
  Scope root = Scope::NewRootScope();
  auto v =
      ops::VariableV2(root.WithOpName("v"), PartialTensorShape({n}), DT_FLOAT);
  auto step = ops::Placeholder(root.WithOpName("step"), DT_FLOAT);
  ops::Assign(root.WithOpName("fill"), v, ops::Fill(root, {n}, step));
  auto saver = Saver::Create(root, {.max_to_keep = 2});
  if (!saver.ok()) return Fail(saver.status());
  ::tensorflow::GraphDef def;
  if (absl::Status s = root.ToGraphDef(&def); !s.ok()) return Fail(s);
  auto session = Session::Create(def);
  if (!session.ok()) return Fail(session.status());

  if (absl::GetFlag(FLAGS_check)) {
    auto latest = LatestCheckpoint(dir);
    if (!latest.ok()) return Fail(latest.status());
    if (absl::Status s = (*saver)->Restore(session->get(), *latest); !s.ok()) {
      return Fail(s);
    }
    int64_t want = 0;
    const std::string digits = latest->substr(latest->rfind('-') + 1);
    if (!absl::SimpleAtoi(digits, &want)) {
      return Fail(absl::InternalError("bad checkpoint name " + *latest));
    }
    auto got = (*session)->Run({}, {"v"}, {});
    if (!got.ok()) return Fail(got.status());
    for (float x : (*got)[0].flat<float>()) {
      if (x != static_cast<float>(want)) {
        return Fail(absl::DataLossError("checkpoint " + *latest +
                                        " holds a wrong value"));
      }
    }
    std::printf("restored step %lld intact\n", static_cast<long long>(want));
    return 0;
  }
  for (int64_t i = 1;; ++i) {
    auto filled = (*session)->Run(
        {{"step", Tensor::Scalar<float>(static_cast<float>(i))}}, {}, {"fill"});
    if (!filled.ok()) return Fail(filled.status());
    auto path = (*saver)->Save(session->get(), dir + "/model", i);
    if (!path.ok()) return Fail(path.status());
    std::printf("saved %lld\n", static_cast<long long>(i));
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace rill

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return rill::Main();
}
