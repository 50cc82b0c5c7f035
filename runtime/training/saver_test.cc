// Checkpoints as a user makes them: Saver::Save into a real directory,
// Restore into the same or another graph, LatestCheckpoint, keeping the
// last K, and what corrupt or mismatched checkpoints get.
#include "runtime/training/saver.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "core/cc/ops.h"
#include "gtest/gtest.h"
#include "runtime/training/checkpoint_file.h"

namespace rill {
namespace {

std::string TestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

bool SameBytes(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DT_STRING) return a.Equals(b);
  return std::memcmp(a.raw_data(), b.raw_data(), a.TotalBytes()) == 0;
}

// A model with one variable of each kind and several dtypes, and an op
// "scramble" that overwrites them all.
struct Model {
  Scope root = Scope::NewRootScope();
  std::unique_ptr<Saver> saver;
  std::unique_ptr<Session> session;
  std::vector<std::string> names = {"f", "d", "i", "l", "b", "s", "r_read"};

  explicit Model(int max_to_keep = 5, int64_t f_size = 5) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float denormal = std::numeric_limits<float>::denorm_min();
    auto var = [&](const std::string& name, DataType t, PartialTensorShape s,
                   Input init, Input other, std::vector<Operation>* inits,
                   std::vector<Operation>* scrambles) {
      auto v = ops::VariableV2(root.WithOpName(name), s, t);
      inits->push_back(ops::Assign(root, v, init).operation);
      scrambles->push_back(ops::Assign(root, v, other).operation);
    };
    std::vector<Operation> inits, scrambles;
    Tensor f = *Tensor::Create(DT_FLOAT, TensorShape({f_size}));
    const float fv[5] = {nan, -0.0f, denormal, 1e30f, -3.5f};
    for (int64_t i = 0; i < f_size; ++i) f.flat<float>()[i] = fv[i % 5];
    var("f", DT_FLOAT, PartialTensorShape({f_size}), f,
        ops::Fill(root, {f_size}, 7.0f), &inits, &scrambles);
    var("d", DT_DOUBLE, PartialTensorShape({2, 2}), {{1.0, 2.0}, {3.0, 4.5}},
        ops::Fill(root, {2, 2}, 0.0), &inits, &scrambles);
    var("i", DT_INT32, PartialTensorShape({3}), {1, -2, 3}, {0, 0, 0}, &inits,
        &scrambles);
    var("l", DT_INT64, PartialTensorShape({}), int64_t{1} << 40, int64_t{0},
        &inits, &scrambles);
    var("b", DT_BOOL, PartialTensorShape({2}), {true, false}, {false, false},
        &inits, &scrambles);
    var("s", DT_STRING, PartialTensorShape({2}),
        Tensor::FromVector<std::string>({"", std::string("a\0b", 3)},
                                        TensorShape({2})),
        Tensor::FromVector<std::string>({"x", "y"}, TensorShape({2})), &inits,
        &scrambles);
    auto r = ops::VarHandleOp(root.WithOpName("r"), DT_FLOAT,
                              PartialTensorShape({2}));
    inits.push_back(ops::AssignVariableOp(root, r, {0.25f, -8.0f}).operation);
    scrambles.push_back(ops::AssignVariableOp(root, r, {0.0f, 0.0f}).operation);
    ops::ReadVariableOp(root.WithOpName("r_read"), r, DT_FLOAT);
    ops::NoOp(root.WithOpName("init").WithControlDependencies(inits));
    ops::NoOp(root.WithOpName("scramble").WithControlDependencies(scrambles));
    auto s = Saver::Create(root, {.max_to_keep = max_to_keep});
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) saver = *std::move(s);
    ::tensorflow::GraphDef def;
    EXPECT_TRUE(root.ToGraphDef(&def).ok()) << root.status();
    auto sess = Session::Create(def);
    EXPECT_TRUE(sess.ok()) << sess.status();
    if (sess.ok()) session = *std::move(sess);
  }

  // Copies: a fetched ref variable shares the variable's buffer, which
  // the next assignment overwrites in place.
  std::vector<Tensor> Values() {
    auto got = session->Run({}, names, {});
    EXPECT_TRUE(got.ok()) << got.status();
    std::vector<Tensor> copies;
    if (got.ok()) {
      for (const Tensor& t : *got) copies.push_back(*t.DeepCopy());
    }
    return copies;
  }
};

TEST(SaverTest, CheckpointRoundTripsBitExactly) {
  const std::string dir = TestDir("roundtrip");
  Model m;
  ASSERT_NE(m.session, nullptr);
  ASSERT_TRUE(m.session->Run({}, {}, {"init"}).ok());
  const std::vector<Tensor> before = m.Values();
  auto path = m.saver->Save(m.session.get(), dir + "/model", 7);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, dir + "/model-7");
  ASSERT_TRUE(m.session->Run({}, {}, {"scramble"}).ok());
  EXPECT_FALSE(SameBytes(m.Values()[0], before[0]));
  ASSERT_TRUE(m.saver->Restore(m.session.get(), *path).ok());
  const std::vector<Tensor> after = m.Values();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(SameBytes(after[i], before[i]))
        << m.names[i] << ": " << after[i].DebugString() << " vs "
        << before[i].DebugString();
  }
  // A fresh process (a new session and saver) restores from the directory.
  Model fresh;
  auto latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(fresh.saver->Restore(fresh.session.get(), *latest).ok());
  EXPECT_TRUE(SameBytes(fresh.Values()[6], before[6]));
}

// Variables saved under other names, two of them as the slices of one
// tensor (a partitioned variable's parts): the checkpoint holds the whole
// tensor, and the parts restore from it.
TEST(SaverTest, SavesUnderGivenNamesAndAsSlices) {
  const std::string dir = TestDir("named");
  Scope root = Scope::NewRootScope();
  auto p0 = ops::VariableV2(root.WithOpName("ps/w/part_0"),
                            PartialTensorShape({1, 2}), DT_FLOAT);
  auto p1 = ops::VariableV2(root.WithOpName("ps_1/w/part_1"),
                            PartialTensorShape({2, 2}), DT_FLOAT);
  auto b = ops::VariableV2(root.WithOpName("ps/b"), PartialTensorShape({2}),
                           DT_FLOAT);
  auto i0 =
      ops::Assign(root.WithOpName("i0"), p0, ops::Const(root, {{1.0f, 2.0f}}));
  auto i1 = ops::Assign(root.WithOpName("i1"), p1,
                        ops::Const(root, {{3.0f, 4.0f}, {5.0f, 6.0f}}));
  auto i2 =
      ops::Assign(root.WithOpName("i2"), b, ops::Const(root, {7.0f, 8.0f}));
  ops::NoOp(root.WithOpName("init").WithControlDependencies(
      {i0.operation, i1.operation, i2.operation}));
  ops::Assign(root.WithOpName("zero"), p1,
              ops::Const(root, {{0.0f, 0.0f}, {0.0f, 0.0f}}));
  auto saver = Saver::Create(root, {.var_list = {p0, p1, b},
                                    .names = {"w", "w", "b"},
                                    .slices = {"3 2 0,1:-", "3 2 1,2:-", ""}});
  ASSERT_TRUE(saver.ok()) << saver.status();
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(root.ToGraphDef(&def).ok());
  auto session = Session::Create(def);
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Run({}, {}, {"init"}).ok());
  auto path = (*saver)->Save(session->get(), dir + "/model", 1);
  ASSERT_TRUE(path.ok()) << path.status();
  auto reader = CheckpointReader::Open(*path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto w = (*reader)->Read("w");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->Equals(
      Tensor::FromVector<float>({1, 2, 3, 4, 5, 6}, TensorShape({3, 2}))));
  EXPECT_TRUE((*reader)->Read("b")->Equals(Tensor::FromVector<float>({7, 8})));
  ASSERT_TRUE((*session)->Run({}, {}, {"zero"}).ok());
  ASSERT_TRUE((*saver)->Restore(session->get(), *path).ok());
  auto part = (*session)->Run({}, {"ps_1/w/part_1"}, {});
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE((*part)[0].Equals(
      Tensor::FromVector<float>({3, 4, 5, 6}, TensorShape({2, 2}))));
  // The same name twice is only allowed as different slices.
  auto twice = Saver::Create(root.NewSubScope("again"),
                             {.var_list = {p0, b}, .names = {"b", "b"}});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SaverTest, KeepsTheLastKAndContinuesAcrossProcesses) {
  const std::string dir = TestDir("keep");
  {
    Model m(/*max_to_keep=*/2);
    ASSERT_TRUE(m.session->Run({}, {}, {"init"}).ok());
    for (int step = 1; step <= 4; ++step) {
      ASSERT_TRUE(m.saver->Save(m.session.get(), dir + "/m", step).ok());
    }
    EXPECT_EQ(m.saver->checkpoints(),
              (std::vector<std::string>{dir + "/m-3", dir + "/m-4"}));
  }
  EXPECT_FALSE(Exists(dir + "/m-1.index"));
  EXPECT_FALSE(Exists(dir + "/m-2.index"));
  EXPECT_TRUE(Exists(dir + "/m-3.index"));
  EXPECT_EQ(*LatestCheckpoint(dir), dir + "/m-4");
  std::ifstream state(dir + "/checkpoint");
  std::string text((std::istreambuf_iterator<char>(state)),
                   std::istreambuf_iterator<char>());
  EXPECT_EQ(text,
            "model_checkpoint_path: \"m-4\"\n"
            "all_model_checkpoint_paths: \"m-3\"\n"
            "all_model_checkpoint_paths: \"m-4\"\n");
  // A new saver in the same directory goes on from that list.
  Model next(/*max_to_keep=*/2);
  ASSERT_TRUE(next.session->Run({}, {}, {"init"}).ok());
  ASSERT_TRUE(next.saver->Save(next.session.get(), dir + "/m", 5).ok());
  EXPECT_FALSE(Exists(dir + "/m-3.index"));
  EXPECT_EQ(*LatestCheckpoint(dir), dir + "/m-5");
}

TEST(SaverTest, WhatAKilledSaveLeftIsCleanedUpAndRotated) {
  const std::string dir = TestDir("killed");
  {
    Model m(/*max_to_keep=*/2);
    ASSERT_TRUE(m.session->Run({}, {}, {"init"}).ok());
    for (int step = 1; step <= 3; ++step) {
      ASSERT_TRUE(m.saver->Save(m.session.get(), dir + "/m", step).ok());
    }
  }
  // A save killed after its files were in place, before the list named
  // them: m-4 exists but is not listed; the list's temporary remains.
  ASSERT_TRUE(
      std::filesystem::copy_file(dir + "/m-3.index", dir + "/m-4.index"));
  ASSERT_TRUE(std::filesystem::copy_file(dir + "/m-3.data-00000-of-00001",
                                         dir + "/m-4.data-00000-of-00001"));
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  const std::string list_tmp = absl::StrCat(dir, "/checkpoint.tmp.", dead);
  std::ofstream(list_tmp) << "half a list";
  // A resume finds m-4, the newest, though the list stops at m-3.
  EXPECT_EQ(
      CheckpointsNewestFirst(dir),
      (std::vector<std::string>{dir + "/m-4", dir + "/m-3", dir + "/m-2"}));
  // The next saver removes the dead writer's temporary and rotates m-4
  // away in turn.
  Model next(/*max_to_keep=*/2);
  ASSERT_TRUE(next.session->Run({}, {}, {"init"}).ok());
  ASSERT_TRUE(next.saver->Save(next.session.get(), dir + "/m", 5).ok());
  EXPECT_FALSE(Exists(list_tmp));
  EXPECT_EQ(next.saver->checkpoints(),
            (std::vector<std::string>{dir + "/m-4", dir + "/m-5"}));
  EXPECT_FALSE(Exists(dir + "/m-2.index"));
  EXPECT_FALSE(Exists(dir + "/m-3.index"));
  ASSERT_TRUE(next.saver->Save(next.session.get(), dir + "/m", 6).ok());
  EXPECT_FALSE(Exists(dir + "/m-4.index"));
}

TEST(SaverTest, ResumeTakesTheNewestThatRestoresOrRefusesToStartOver) {
  const std::string dir = TestDir("resume");
  Model m(/*max_to_keep=*/3);
  ASSERT_TRUE(m.session->Run({}, {}, {"init"}).ok());
  for (int step = 1; step <= 3; ++step) {
    ASSERT_TRUE(m.saver->Save(m.session.get(), dir + "/m", step).ok());
  }
  auto restore = [&](const std::string& path) {
    return m.saver->Restore(m.session.get(), path);
  };
  std::vector<std::string> skipped;
  auto note = [&](const std::string& path, const absl::Status&) {
    skipped.push_back(path);
  };
  // The newest deleted, the list garbage: the one before it.
  ::unlink((dir + "/m-3.index").c_str());
  std::ofstream(dir + "/checkpoint") << "garbage {{";
  EXPECT_EQ(*RestoreNewestIntact(dir, restore, note), dir + "/m-2");
  // Every one damaged: an error, not a fresh start.
  for (const char* step : {"1", "2"}) {
    std::ofstream(absl::StrCat(dir, "/m-", step, ".data-00000-of-00001"),
                  std::ios::trunc);
  }
  absl::StatusOr<std::string> none = RestoreNewestIntact(dir, restore, note);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kDataLoss) << none.status();
  EXPECT_NE(none.status().message().find("move them away"), std::string::npos);
  // Nothing there at all: start fresh ("").
  EXPECT_EQ(*RestoreNewestIntact(TestDir("resume_empty"), restore), "");
}

TEST(SaverTest, RestoringIntoAnotherShapeFailsClearlyAndChangesNothing) {
  const std::string dir = TestDir("shape");
  Model small(5, /*f_size=*/5);
  ASSERT_TRUE(small.session->Run({}, {}, {"init"}).ok());
  auto path = small.saver->Save(small.session.get(), dir + "/model");
  ASSERT_TRUE(path.ok()) << path.status();
  Model big(5, /*f_size=*/6);
  ASSERT_TRUE(big.session->Run({}, {}, {"init"}).ok());
  const std::vector<Tensor> before = big.Values();
  absl::Status s = big.saver->Restore(big.session.get(), *path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("checkpoint tensor 'f' has shape [5] but the "
                             "variable has shape [6]"),
            std::string::npos)
      << s;
  const std::vector<Tensor> after = big.Values();
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(SameBytes(after[i], before[i])) << big.names[i];
  }
}

TEST(SaverTest, CorruptMissingAndMisplacedCheckpointsAreClearErrors) {
  const std::string dir = TestDir("corrupt");
  Model m;
  ASSERT_TRUE(m.session->Run({}, {}, {"init"}).ok());
  auto path = m.saver->Save(m.session.get(), dir + "/model");
  ASSERT_TRUE(path.ok());
  const std::string index = CheckpointFileOf(*path);
  const std::string data = DataFileOf(*path, 0, 1);

  // One flipped bit in the data of the first tensor (by name) fails that
  // tensor's checksum.
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1);
    char c;
    f.get(c);
    f.seekp(1);
    f.put(static_cast<char>(c ^ 0x10));
  }
  absl::Status s = m.saver->Restore(m.session.get(), *path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("tensor 'b' fails its checksum"),
            std::string::npos)
      << s;

  // A truncated data file, then a truncated index.
  ASSERT_EQ(::truncate(data.c_str(), 3), 0);
  s = m.saver->Restore(m.session.get(), *path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("is truncated"), std::string::npos) << s;
  ASSERT_EQ(::truncate(index.c_str(), 30), 0);
  s = m.saver->Restore(m.session.get(), *path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("is corrupt"), std::string::npos) << s;

  s = m.saver->Restore(m.session.get(), dir + "/nothing");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_EQ(LatestCheckpoint(dir + "/empty").status().code(),
            absl::StatusCode::kNotFound);
  auto saved = m.saver->Save(m.session.get(), dir + "/no/such/dir/model");
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(saved.status().message().find("does not exist"), std::string::npos);

  // A checkpoint of another model lacks this model's variables.
  Scope other = Scope::NewRootScope();
  auto z =
      ops::VariableV2(other.WithOpName("z"), PartialTensorShape({}), DT_FLOAT);
  auto init = ops::Assign(other.WithOpName("init"), z, 1.0f);
  auto saver = Saver::Create(other);
  ::tensorflow::GraphDef def;
  ASSERT_TRUE(other.ToGraphDef(&def).ok());
  auto session = *Session::Create(def);
  ASSERT_TRUE(session->Run({}, {}, {"init"}).ok());
  auto zpath = (*saver)->Save(session.get(), dir + "/z");
  ASSERT_TRUE(zpath.ok());
  s = m.saver->Restore(m.session.get(), *zpath);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(s.message().find("has no tensor for variable 'f'"),
            std::string::npos)
      << s;
  (void)init;
}

}  // namespace
}  // namespace rill
