#include "tools/tensor_text.h"

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"

namespace rill::tools {
namespace {

TEST(JsonTensorTest, ScalarsAndNestedLists) {
  auto s = ParseJsonTensor("3.5", DT_FLOAT);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->dims(), 0);
  EXPECT_EQ(s->scalar<float>(), 3.5f);
  auto m = ParseJsonTensor(" [[1, 2], [3, 4]] ", DT_INT64);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->shape(), TensorShape({2, 2}));
  EXPECT_EQ(m->flat<int64_t>()[3], 4);
  auto b = ParseJsonTensor("[true, false]", DT_BOOL);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->flat<bool>()[1]);
  auto empty = ParseJsonTensor("[]", DT_FLOAT);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->shape(), TensorShape({0}));
  auto floats_from_ints = ParseJsonTensor("[1, 2.5e1]", DT_DOUBLE);
  ASSERT_TRUE(floats_from_ints.ok());
  EXPECT_EQ(floats_from_ints->flat<double>()[1], 25.0);
}

TEST(JsonTensorTest, Errors) {
  for (const char* bad : {"[[1, 2], [3]]", "[1, [2]]", "[[1], 2]", "[1, 2",
                          "1 2", "abc", "[1,]", ""}) {
    EXPECT_EQ(ParseJsonTensor(bad, DT_FLOAT).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  auto not_int = ParseJsonTensor("[1.5]", DT_INT32);
  EXPECT_NE(not_int.status().message().find("integer"), std::string::npos);
  auto too_big = ParseJsonTensor("3000000000", DT_INT32);
  EXPECT_NE(too_big.status().message().find("does not fit"), std::string::npos);
  auto not_bool = ParseJsonTensor("1", DT_BOOL);
  EXPECT_FALSE(not_bool.ok());
}

TEST(NpyTest, RoundTripAndErrors) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/t.npy";
  Tensor t = Tensor::FromVector<float>({1, 2, 3, 4, 5, 6}, TensorShape({2, 3}));
  ASSERT_TRUE(WriteNpy(t, path).ok());
  auto back = ReadNpy(path, DT_FLOAT);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(t));
  auto wrong = ReadNpy(path, DT_INT32);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("float32"), std::string::npos);
  EXPECT_EQ(ReadNpy("/no/such.npy", DT_FLOAT).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(JsonTensorTest, Strings) {
  auto s = ParseJsonTensor(R"([["a", "b\"c"], ["\u00e9\n", "\ud83d\ude00"]])",
                           DT_STRING);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->shape(), TensorShape({2, 2}));
  EXPECT_EQ(s->flat<std::string>()[1], "b\"c");
  EXPECT_EQ(s->flat<std::string>()[2], "\xc3\xa9\n");
  EXPECT_EQ(s->flat<std::string>()[3], "\xf0\x9f\x98\x80");
  for (const char* bad : {R"(["a)", R"(["\ud83d"])", R"(["\x"])", "[1]"}) {
    EXPECT_EQ(ParseJsonTensor(bad, DT_STRING).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

// Writes a version 1 .npy file of `descr` and `shape` around `data`.
std::string NpyFile(const std::string& name, const std::string& descr,
                    const std::string& shape, const std::string& data) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir ? dir : "/tmp") + "/" + name;
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY\x01";
  file += '\0';
  file += static_cast<char>(header.size() & 0xff);
  file += static_cast<char>(header.size() >> 8);
  std::ofstream(path, std::ios::binary) << file << header << data;
  return path;
}

TEST(NpyTest, StringsOfBytesAndOfText) {
  // numpy pads to the width with NULs and drops them again on reading.
  auto bytes = ReadNpy(
      NpyFile("s.npy", "|S3", "(2,)", std::string("ab\0xyz", 6)), DT_STRING);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(bytes->flat<std::string>()[0], "ab");
  EXPECT_EQ(bytes->flat<std::string>()[1], "xyz");
  // UCS-4 little-endian: "é" and "€" (U+20AC), width 2.
  std::string ucs4("\xe9\0\0\0\0\0\0\0\xac\x20\0\0a\0\0\0", 16);
  auto text = ReadNpy(NpyFile("u.npy", "<U2", "(2,)", ucs4), DT_INVALID);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(text->dtype(), DT_STRING);
  EXPECT_EQ(text->flat<std::string>()[0], "\xc3\xa9");
  EXPECT_EQ(text->flat<std::string>()[1],
            "\xe2\x82\xac"
            "a");
  auto pickled = ReadNpy(NpyFile("o.npy", "|O", "(1,)", "xxxxxxxx"), DT_STRING);
  EXPECT_NE(pickled.status().message().find("pickled"), std::string::npos);
  auto short_data =
      ReadNpy(NpyFile("short.npy", "|S4", "(3,)", "abcd"), DT_STRING);
  EXPECT_EQ(short_data.status().code(), absl::StatusCode::kInvalidArgument);
  auto not_unicode =
      ReadNpy(NpyFile("bad.npy", "<U1", "(1,)", std::string("\0\0\x11\0", 4)),
              DT_STRING);
  EXPECT_NE(not_unicode.status().message().find("not Unicode"),
            std::string::npos);
  auto wrong = ReadNpy(NpyFile("s2.npy", "|S1", "(1,)", "a"), DT_FLOAT);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TensorJsonTest, Format) {
  Tensor t = Tensor::FromVector<float>({1, 2.5f, 3, 4}, TensorShape({2, 2}));
  EXPECT_EQ(TensorToJson(t),
            "{\"dtype\": \"float32\", \"shape\": [2, 2], \"values\": [1, 2.5, "
            "3, 4]}");
  EXPECT_EQ(TensorToJson(Tensor::Scalar<bool>(true)),
            "{\"dtype\": \"bool\", \"shape\": [], \"values\": [true]}");
  EXPECT_EQ(TensorToText(Tensor::FromVector<int64_t>({7})), "int64 [1] [7]");
}

TEST(TensorTextTest, LargeTensorsPrintSummarizedUnlessAskedForAll) {
  std::vector<int32_t> values(5000);
  for (int i = 0; i < 5000; ++i) values[i] = i;
  Tensor t = Tensor::FromVector<int32_t>(values);
  EXPECT_EQ(TensorToText(t), "int32 [5000] [0, 1, 2, ..., 4997, 4998, 4999]");
  EXPECT_EQ(TensorToText(t, 1), "int32 [5000] [0, ..., 4999]");
  EXPECT_EQ(TensorToText(t, 0), "int32 [5000] [...]");
  const std::string all = TensorToText(t, -1);
  EXPECT_NE(all.find(", 2500, 2501, "), std::string::npos);
  EXPECT_EQ(all.find("..."), std::string::npos);
  // At the threshold every value is printed; JSON always has them all.
  Tensor small = Tensor::FromVector<int32_t>(
      std::vector<int32_t>(values.begin(), values.begin() + 1000));
  EXPECT_EQ(TensorToText(small).find("..."), std::string::npos);
  const std::string json = TensorToJson(t);
  EXPECT_EQ(json.find("..."), std::string::npos);
  EXPECT_NE(json.find(", 4998, 4999]}"), std::string::npos);
}

TEST(TensorTextTest, JsonStringsAreValidJson) {
  EXPECT_EQ(JsonString("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonString("line\nnext\t\x01"), "\"line\\nnext\\u0009\\u0001\"");
  // UTF-8 stays; other bytes become one code point each.
  EXPECT_EQ(JsonString("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(JsonString(std::string("\x00\xff\x15", 3)),
            "\"\\u0000\\u00ff\\u0015\"");
  Tensor t = *Tensor::Create(DT_STRING, TensorShape({2}));
  t.flat<std::string>()[0] = "x";
  t.flat<std::string>()[1] = std::string("\n\x80", 2);
  EXPECT_NE(TensorToJson(t).find("[\"x\", \"\\n\\u0080\"]"), std::string::npos)
      << TensorToJson(t);
}

}  // namespace
}  // namespace rill::tools
