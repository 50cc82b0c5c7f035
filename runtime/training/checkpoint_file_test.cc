// TensorFlow's V2 checkpoint format: a checkpoint TensorFlow's own Saver
// wrote (tests/testdata/tf_checkpoint, from make_tf_checkpoint.py) reads
// back with its values; what Rill writes reads back bit for bit; the
// shards of a sharded save merge into one; damage is DATA_LOSS naming the
// file or the tensor; partitioned tensors' slices merge and read back in
// any slicing. (TensorFlow reading Rill's checkpoints, sliced ones
// included, is in tests/compat.)
#include "runtime/training/checkpoint_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace rill {
namespace {

std::string TestDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/ckpt_", name);
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

bool Exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

TEST(CheckpointFileTest, ReadsWhatTensorFlowWrote) {
  auto reader = CheckpointReader::Open("tests/testdata/tf_checkpoint/model");
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->entries().size(), 8u);
  auto read = [&](const std::string& name) {
    absl::StatusOr<Tensor> t = (*reader)->Read(name);
    EXPECT_TRUE(t.ok()) << name << ": " << t.status();
    return t.ok() ? *t : Tensor();
  };
  Tensor kernel = read("dense/kernel");
  ASSERT_EQ(kernel.shape(), TensorShape({3, 4}));
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(kernel.flat<float>()[i], static_cast<float>(i) / 7.0f) << i;
  }
  Tensor bias = read("dense/bias");
  EXPECT_EQ(bias.flat<float>()[1], -1.25f);
  EXPECT_EQ(bias.flat<float>()[3], 1e-3f);
  EXPECT_EQ(read("global_step").flat<int64_t>()[0], 1234567890123);
  Tensor counts = read("counts");
  EXPECT_EQ(counts.flat<int32_t>()[1], -2);
  EXPECT_EQ(read("scale").flat<double>()[0], 2.718281828459045);
  Tensor flags = read("flags");
  EXPECT_TRUE(flags.flat<bool>()[0]);
  EXPECT_FALSE(flags.flat<bool>()[1]);
  Tensor words = read("words");
  ASSERT_EQ(words.NumElements(), 4);
  EXPECT_EQ(words.flat<std::string>()[0], "alpha");
  EXPECT_EQ(words.flat<std::string>()[1], "");
  EXPECT_EQ(words.flat<std::string>()[2], "\xce\xbb multi-byte");
  EXPECT_EQ(words.flat<std::string>()[3], std::string(300, 'x'));
  EXPECT_EQ(read("empty").shape(), TensorShape({0, 5}));
}

TEST(CheckpointFileTest, WhatRillWritesReadsBackBitForBit) {
  const std::string prefix = TestDir("round") + "/model-7";
  const float nan = std::nanf("");
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"w", Tensor::FromVector<float>({nan, -0.0f, 1e-45f, 3.5f})},
      {"a/step", Tensor::Scalar<int64_t>(-5)},
      {"s", Tensor::FromVector<std::string>(
                {"", std::string("a\0b", 3), std::string(1000, 'q')})},
      {"none", *Tensor::Create(DT_DOUBLE, TensorShape({0}))},
  };
  ASSERT_TRUE(WriteCheckpoint(prefix, tensors).ok());
  EXPECT_TRUE(Exists(prefix + ".index"));
  EXPECT_TRUE(Exists(prefix + ".data-00000-of-00001"));
  auto reader = CheckpointReader::Open(prefix);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (const auto& [name, want] : tensors) {
    absl::StatusOr<Tensor> got = (*reader)->Read(name);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status();
    ASSERT_EQ(got->dtype(), want.dtype()) << name;
    ASSERT_EQ(got->shape(), want.shape()) << name;
    if (want.dtype() == DT_STRING) {
      EXPECT_TRUE(got->Equals(want)) << name;
    } else {
      EXPECT_EQ(
          std::memcmp(got->raw_data(), want.raw_data(), want.TotalBytes()), 0)
          << name;
    }
  }
  EXPECT_EQ((*reader)->Read("nope").status().code(),
            absl::StatusCode::kNotFound);
  // Bad requests.
  EXPECT_EQ(WriteCheckpoint(prefix, {{"", Tensor::Scalar<float>(1)}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteCheckpoint(prefix, {{"x", Tensor::Scalar<float>(1)},
                                     {"x", Tensor::Scalar<float>(2)}})
                .code(),
            absl::StatusCode::kInvalidArgument);
  DeleteCheckpoint(prefix);
  EXPECT_FALSE(Exists(prefix + ".index"));
  EXPECT_FALSE(Exists(prefix + ".data-00000-of-00001"));
  EXPECT_EQ(CheckpointReader::Open(prefix).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckpointFileTest, TheSameTensorsGiveTheSameBytes) {
  // Whatever order the tensors come in, and from save to save.
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"w", Tensor::FromVector<float>({1, 2, 3})},
      {"b", Tensor::Scalar<double>(0.5)},
      {"words", Tensor::FromVector<std::string>({"x", "yz"})},
  };
  const std::vector<std::pair<std::string, Tensor>> reversed(tensors.rbegin(),
                                                             tensors.rend());
  const std::string a = TestDir("same_a") + "/model";
  const std::string b = TestDir("same_b") + "/model";
  ASSERT_TRUE(WriteCheckpoint(a, tensors).ok());
  ASSERT_TRUE(WriteCheckpoint(b, reversed).ok());
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  for (const char* suffix : {".index", ".data-00000-of-00001"}) {
    EXPECT_FALSE(bytes(a + suffix).empty()) << suffix;
    EXPECT_EQ(bytes(a + suffix), bytes(b + suffix)) << suffix;
  }
}

TEST(CheckpointFileTest, ShardsOfASaveMergeIntoOne) {
  const std::string dir = TestDir("merge");
  const std::string part0 = TestDir("merge_tmp0") + "/part-00000-of-00002";
  const std::string part1 = TestDir("merge_tmp1") + "/part-00001-of-00002";
  ASSERT_TRUE(WriteCheckpoint(part0, {{"ps0/w", Tensor::Scalar<float>(1.5f)},
                                      {"ps0/b", Tensor::Scalar<float>(2.5f)}})
                  .ok());
  ASSERT_TRUE(WriteCheckpoint(
                  part1, {{"ps1/w", Tensor::FromVector<std::string>({"hi"})}})
                  .ok());
  const std::string merged = dir + "/model-3";
  ASSERT_TRUE(MergeCheckpoints({part0, part1}, merged, true).ok());
  EXPECT_TRUE(Exists(merged + ".data-00000-of-00002"));
  EXPECT_TRUE(Exists(merged + ".data-00001-of-00002"));
  EXPECT_FALSE(Exists(DirectoryOf(part0)));  // Emptied and removed.
  auto reader = CheckpointReader::Open(merged);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Read("ps0/b")->flat<float>()[0], 2.5f);
  EXPECT_EQ((*reader)->Read("ps1/w")->flat<std::string>()[0], "hi");
  EXPECT_EQ((*reader)->entries().at("ps1/w").shard, 1);

  // The same tensor in two sources.
  const std::string a = TestDir("merge_dup") + "/a";
  const std::string b = TestDir("merge_dup") + "/b";
  ASSERT_TRUE(WriteCheckpoint(a, {{"x", Tensor::Scalar<float>(1)}}).ok());
  ASSERT_TRUE(WriteCheckpoint(b, {{"x", Tensor::Scalar<float>(2)}}).ok());
  absl::Status dup = MergeCheckpoints({a, b}, a + "_merged", false);
  EXPECT_EQ(dup.code(), absl::StatusCode::kInvalidArgument) << dup;
  EXPECT_NE(dup.message().find("'x'"), std::string::npos) << dup;
}

// A partitioned variable: each part saved as its slice by the task that
// holds it, the shards merged, then read whole or in any other slicing.
TEST(CheckpointFileTest, SlicesMergeAndReadInAnyPartitioning) {
  const std::string part0 = TestDir("slices_tmp0") + "/part-00000-of-00002";
  const std::string part1 = TestDir("slices_tmp1") + "/part-00001-of-00002";
  ASSERT_TRUE(
      WriteCheckpoint(part0,
                      {{"emb", Tensor::FromVector<float>({0, 1, 2, 3, 4, 5},
                                                         TensorShape({3, 2}))},
                       {"b", Tensor::FromVector<float>({9, 8, 7, 6})}},
                      {"4 2 0,3:-", ""})
          .ok());
  ASSERT_TRUE(WriteCheckpoint(part1,
                              {{"emb", Tensor::FromVector<float>(
                                           {6, 7}, TensorShape({1, 2}))}},
                              {"4 2 3,1:0,2"})
                  .ok());
  const std::string merged = TestDir("slices") + "/m";
  ASSERT_TRUE(MergeCheckpoints({part0, part1}, merged, true).ok());
  auto reader = CheckpointReader::Open(merged);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE((*reader)->Contains("emb"));
  auto whole = (*reader)->Read("emb");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(whole->Equals(Tensor::FromVector<float>({0, 1, 2, 3, 4, 5, 6, 7},
                                                      TensorShape({4, 2}))));
  // Rows 2..3 span both saved slices; column 1 of every row.
  auto rows = (*reader)->ReadSlice("emb", *TensorSlice::Parse("4 2 2,2:-"));
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_TRUE(rows->Equals(
      Tensor::FromVector<float>({4, 5, 6, 7}, TensorShape({2, 2}))));
  auto column = (*reader)->ReadSlice("emb", *TensorSlice::Parse("4 2 -:1,1"));
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_TRUE(column->Equals(
      Tensor::FromVector<float>({1, 3, 5, 7}, TensorShape({4, 1}))));
  // A slice of a tensor saved whole.
  auto part = (*reader)->ReadSlice("b", *TensorSlice::Parse("4 1,2"));
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_TRUE(part->Equals(Tensor::FromVector<float>({8, 7})));
  // Another full shape than the saved one.
  EXPECT_EQ((*reader)
                ->ReadSlice("emb", *TensorSlice::Parse("5 2 -:-"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckpointFileTest, SliceKeysAreTensorFlowsEncoding) {
  TensorSlice slice;
  slice.full_shape = TensorShape({100, 400});
  slice.start = {0, 70};
  slice.length = {-1, 300};
  // 0; "ab" escaped and terminated; rank 2; then the signed numbers
  // 0 -> 80, -1 -> 7f, 70 -> c0 46, 300 -> c1 2c.
  const std::string want(
      "\x00"
      "ab\x00\x01"
      "\x01\x02"
      "\x80\x7f"
      "\xc0\x46\xc1\x2c",
      13);
  EXPECT_EQ(SliceKey("ab", slice), want);
}

TEST(CheckpointFileTest, BadSlicesAreClearErrors) {
  for (const char* spec : {"4 2 0,5:-", "4 2 0,1", "x 2 -:-", "4", "4 -1,2"}) {
    auto parsed = TensorSlice::Parse(spec);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << spec;
    EXPECT_NE(parsed.status().message().find(spec), std::string::npos)
        << parsed.status();
  }
  const std::string prefix = TestDir("bad_slices") + "/m";
  // The tensor is not the slice's shape.
  absl::Status shape = WriteCheckpoint(
      prefix, {{"w", Tensor::FromVector<float>({1, 2, 3})}}, {"4 0,2"});
  EXPECT_EQ(shape.code(), absl::StatusCode::kInvalidArgument) << shape;
  // The same name whole and in slices.
  absl::Status both =
      WriteCheckpoint(prefix,
                      {{"w", Tensor::FromVector<float>({1, 2})},
                       {"w", Tensor::FromVector<float>({1, 2, 3, 4})}},
                      {"4 0,2", ""});
  EXPECT_EQ(both.code(), absl::StatusCode::kInvalidArgument) << both;
  // Slices that do not cover what is read.
  ASSERT_TRUE(WriteCheckpoint(
                  prefix, {{"w", Tensor::FromVector<float>({1, 2})}}, {"4 0,2"})
                  .ok());
  auto reader = CheckpointReader::Open(prefix);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Read("w").status().code(), absl::StatusCode::kNotFound);
  auto covered = (*reader)->ReadSlice("w", *TensorSlice::Parse("4 1,1"));
  ASSERT_TRUE(covered.ok()) << covered.status();
  EXPECT_EQ(covered->flat<float>()[0], 2.0f);
}

TEST(CheckpointFileTest, DamageIsDataLossNamingTheFileOrTensor) {
  const std::string prefix = TestDir("damage") + "/m";
  ASSERT_TRUE(
      WriteCheckpoint(prefix,
                      {{"a", Tensor::FromVector<float>({1, 2, 3, 4})},
                       {"s", Tensor::FromVector<std::string>({"abc", "defg"})}})
          .ok());
  const std::string data = DataFileOf(prefix, 0, 1);
  auto flip = [](const std::string& path, int offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    char c;
    f.get(c);
    f.seekp(offset);
    f.put(static_cast<char>(c ^ 0x04));
  };
  // A string's length (byte 16: the first varint after a's 16 bytes).
  flip(data, 16);
  auto reader = CheckpointReader::Open(prefix);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::Status s = (*reader)->Read("s").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("tensor 's'"), std::string::npos) << s;
  flip(data, 16);
  flip(data, 2);
  s = (*CheckpointReader::Open(prefix))->Read("a").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("tensor 'a' fails its checksum"),
            std::string::npos)
      << s;
  // A damaged index.
  flip(prefix + ".index", 5);
  s = CheckpointReader::Open(prefix).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(prefix + ".index"), std::string::npos) << s;
  std::ofstream(prefix + ".index", std::ios::trunc) << "garbage";
  s = CheckpointReader::Open(prefix).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

}  // namespace
}  // namespace rill
