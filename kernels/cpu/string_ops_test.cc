// The string ops on the op harness. Expected values are TensorFlow 2.21's
// for the same inputs; hashes are pinned by core/platform/hash_test.cc.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "kernels/cpu/op_harness.h"

namespace rill {
namespace {

Tensor S1(std::vector<std::string> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return S(std::move(v), TensorShape({n}));
}
Tensor I64(std::vector<int64_t> v, TensorShape s) {
  return Tensor::FromVector<int64_t>(v, s);
}

TEST(StringOpsTest, LengthsCaseAndWhitespace) {
  RunCases({
      {"StringLength in bytes",
       [](const Scope& s) {
         return ops::StringLength(s,
                                  ops::Const(s, S1({"a", "h\xc3\xa9llo", ""})));
       },
       I({1, 6, 0}, {3})},
      {"StringLength in UTF-8 characters",
       [](const Scope& s) {
         return ops::StringLength(s,
                                  ops::Const(s, S1({"a", "h\xc3\xa9llo", ""})),
                                  ops::StringLength::Unit("UTF8_CHAR"));
       },
       I({1, 5, 0}, {3})},
      {"StringStrip",
       [](const Scope& s) {
         return ops::StringStrip(s, ops::Const(s, S1({" \t a b \n", ""})));
       },
       S1({"a b", ""})},
      {"StringLower leaves non-ASCII bytes",
       [](const Scope& s) {
         return ops::StringLower(s, ops::Const(s, S1({"Ab\xc3\x89"})));
       },
       S1({"ab\xc3\x89"})},
      {"StringUpper",
       [](const Scope& s) {
         return ops::StringUpper(s, ops::Const(s, S1({"abc1"})));
       },
       S1({"ABC1"})},
      {"StringJoin with a scalar and a separator",
       [](const Scope& s) {
         return ops::StringJoin(s, {ops::Const(s, S1({"a", "bc"})), "!"},
                                ops::StringJoin::Separator("-"));
       },
       S1({"a-!", "bc-!"})},
  });
}

TEST(StringOpsTest, Hashing) {
  RunCases({
      {"StringToHashBucketFast (TensorFlow's buckets)",
       [](const Scope& s) {
         return ops::StringToHashBucketFast(
             s, ops::Const(s, S1({"a", "bc", "def"})), 10);
       },
       I64({9, 9, 5}, {3})},
      {"StringToHashBucketStrong (TensorFlow's buckets)",
       [](const Scope& s) {
         return ops::StringToHashBucketStrong(
             s, ops::Const(s, S1({"a", "bc", "def"})), 100,
             std::vector<int64_t>{1, 2});
       },
       I64({46, 7, 4}, {3})},
      {"Fingerprint of int32 rows",
       [](const Scope& s) {
         return ops::Fingerprint(s, ops::Const(s, {{1, 2}, {3, 4}}),
                                 "farmhash64");
       },
       Tensor::FromVector<uint8_t>({76, 18, 253, 133, 168, 204, 240, 10, 254,
                                    162, 60, 240, 103, 244, 53, 255},
                                   TensorShape({2, 8}))},
      {"Fingerprint of a row of strings",
       [](const Scope& s) {
         return ops::Fingerprint(
             s, ops::Const(s, S({"a", "b"}, TensorShape({1, 2}))),
             "farmhash64");
       },
       Tensor::FromVector<uint8_t>({122, 64, 59, 169, 136, 60, 55, 83},
                                   TensorShape({1, 8}))},
  });
}

TEST(StringOpsTest, Substrings) {
  RunCases({
      {"Substr clips len to the end",
       [](const Scope& s) {
         return ops::Substr(s, ops::Const(s, S1({"hello", "ab"})), 1, 3);
       },
       S1({"ell", "b"})},
      {"Substr from the end, and a negative len takes the rest",
       [](const Scope& s) {
         return ops::ConcatV2(
             s,
             {ops::Substr(s, ops::Const(s, S1({"hello", "ab"})), -2, 5),
              ops::Substr(s, ops::Const(s, S1({"hello", "ab"})), 1, -1)},
             0);
       },
       S1({"lo", "ab", "ello", "b"})},
      {"Substr broadcasts pos and len against the input",
       [](const Scope& s) {
         return ops::Substr(
             s, ops::Const(s, S({"hello", "ab", "xyz", "q"}, {2, 2})),
             ops::Const(s, {1, 0}), ops::Const(s, {1, 1}));
       },
       S({"e", "a", "y", "q"}, {2, 2})},
      {"Substr in UTF-8 characters",
       [](const Scope& s) {
         return ops::Substr(s, ops::Const(s, S1({"h\xc3\xa9llo"})), 1, 2,
                            ops::Substr::Unit("UTF8_CHAR"));
       },
       S1({"\xc3\xa9l"})},
  });
  absl::Status bad = RunStatus([](const Scope& s) {
    return ops::Substr(s, ops::Const(s, S1({"hello", "ab"})), 3, 1);
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(bad.message(), "pos 3 out of range for string 'ab'"))
      << bad;
}

TEST(StringOpsTest, ReduceJoin) {
  auto x = [](const Scope& s) {
    return ops::Const(s, S({"a", "b", "c", "d"}, {2, 2}));
  };
  RunCases({
      {"ReduceJoin: the first axis listed varies fastest",
       [x](const Scope& s) {
         return ops::Pack(s,
                          {ops::ReduceJoin(s, x(s), ops::Const(s, {0, 1})),
                           ops::ReduceJoin(s, x(s), ops::Const(s, {1, 0}))},
                          ops::Pack::Axis(0));
       },
       S1({"acbd", "abcd"})},
      {"ReduceJoin of the last axis, dims kept",
       [x](const Scope& s) {
         return ops::ReduceJoin(s, x(s), ops::Const(s, {-1}),
                                ops::ReduceJoin::KeepDims(true).Separator("-"));
       },
       S({"a-b", "c-d"}, {2, 1})},
      {"ReduceJoin with no axes leaves the input",
       [x](const Scope& s) {
         return ops::ReduceJoin(s, x(s),
                                ops::Const(s, Tensor::FromVector<int32_t>({})));
       },
       S({"a", "b", "c", "d"}, {2, 2})},
  });
  absl::Status twice = RunStatus([x](const Scope& s) {
    return ops::ReduceJoin(s, x(s), ops::Const(s, {0, 0}));
  });
  EXPECT_TRUE(
      absl::StrContains(twice.message(), "dimension 0 is reduced twice"))
      << twice;
  absl::Status out_of_range = RunStatus([x](const Scope& s) {
    return ops::ReduceJoin(s, x(s), ops::Const(s, {2}));
  });
  EXPECT_TRUE(
      absl::StrContains(out_of_range.message(), "reduction dimension 2"))
      << out_of_range;
}

TEST(StringOpsTest, Split) {
  struct Want {
    std::vector<int64_t> indices;
    std::vector<std::string> values;
    std::vector<int64_t> shape;
  };
  auto split = [](std::vector<std::string> input, std::string sep,
                  int64_t maxsplit, const Want& want) {
    Scope root = Scope::NewRootScope();
    auto out = ops::StringSplitV2(root, ops::Const(root, S1(input)),
                                  ops::Const(root, sep),
                                  ops::StringSplitV2::Maxsplit(maxsplit));
    ops::Identity(root.WithOpName("i"), out.indices);
    ops::Identity(root.WithOpName("v"), out.values);
    ops::Identity(root.WithOpName("s"), out.shape);
    ::tensorflow::GraphDef def;
    ASSERT_TRUE(root.ToGraphDef(&def).ok());
    auto session = Session::Create(def);
    ASSERT_TRUE(session.ok()) << session.status();
    auto got = (*session)->Run({}, {"i", "v", "s"}, {});
    ASSERT_TRUE(got.ok()) << got.status();
    const int64_t n = static_cast<int64_t>(want.values.size());
    ExpectClose((*got)[0], I64(want.indices, {n, 2}), "indices of " + sep);
    ExpectClose((*got)[1], S(want.values, {n}), "values of " + sep);
    ExpectClose((*got)[2], I64(want.shape, {2}), "shape of " + sep);
  };
  split({"a b  c", "", " d "}, "", -1,
        {{0, 0, 0, 1, 0, 2, 2, 0}, {"a", "b", "c", "d"}, {3, 3}});
  split({"a,b,,c", "", "d"}, ",", -1,
        {{0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 2, 0},
         {"a", "b", "", "c", "", "d"},
         {3, 4}});
  split({"a,b,,c"}, ",", 1, {{0, 0, 0, 1}, {"a", "b,,c"}, {1, 2}});
  split({"  a b  c d "}, "", 1, {{0, 0, 0, 1}, {"a", "b  c d "}, {1, 2}});
  split({"a<>b<>"}, "<>", -1, {{0, 0, 0, 1, 0, 2}, {"a", "b", ""}, {1, 3}});
}

TEST(StringOpsTest, RegularExpressions) {
  RunCases({
      {"RegexReplace, every match, with the whole match",
       [](const Scope& s) {
         return ops::RegexReplace(s, ops::Const(s, S1({"aaa bab"})), "a+",
                                  "<\\0>");
       },
       S1({"<aaa> b<a>b"})},
      {"StaticRegexReplace, the first match, with groups",
       [](const Scope& s) {
         return ops::StaticRegexReplace(
             s, ops::Const(s, S1({"aaa bab"})), "(a)(b)", "\\2\\1",
             ops::StaticRegexReplace::ReplaceGlobal(false));
       },
       S1({"aaa bba"})},
      {"RegexFullMatch",
       [](const Scope& s) {
         return ops::RegexFullMatch(s, ops::Const(s, S1({"ab", "abc"})), "ab");
       },
       Tensor::FromVector<bool>({true, false})},
  });
  absl::Status bad = RunStatus([](const Scope& s) {
    return ops::RegexReplace(s, ops::Const(s, S1({"aaa"})), "(", "x");
  });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.message(), "is not a regular expression"))
      << bad;
  absl::Status rewrite = RunStatus([](const Scope& s) {
    return ops::RegexReplace(s, ops::Const(s, S1({"aaa"})), "(a)", "\\2");
  });
  EXPECT_EQ(rewrite.code(), absl::StatusCode::kInvalidArgument);
}

TEST(StringOpsTest, NumbersAndText) {
  RunCases({
      {"AsString of floats, default format",
       [](const Scope& s) {
         return ops::AsString(s, ops::Const(s, {1.5f, -2.25f, 1e10f}));
       },
       S1({"1.500000", "-2.250000", "10000000000.000000"})},
      {"AsString with precision, width and a zero fill",
       [](const Scope& s) {
         return ops::AsString(s, ops::Const(s, {1.5f, -2.25f}),
                              ops::AsString::Precision(2).Width(8).Fill("0"));
       },
       S1({"00001.50", "-0002.25"})},
      {"AsString shortest and scientific",
       [](const Scope& s) {
         return ops::ConcatV2(
             s,
             {ops::AsString(s, ops::Const(s, {1.5f, -2.25e-7f}),
                            ops::AsString::Shortest(true)),
              ops::AsString(s, ops::Const(s, {1.5f}),
                            ops::AsString::Scientific(true).Precision(3))},
             0);
       },
       S1({"1.5", "-2.25e-07", "1.500e+00"})},
      {"AsString of ints, left-justified, and of bools",
       [](const Scope& s) {
         return ops::ConcatV2(s,
                              {ops::AsString(s, ops::Const(s, {1, -22}),
                                             ops::AsString::Width(5).Fill("-")),
                               ops::AsString(s, ops::Const(s, {true, false}))},
                              0);
       },
       S1({"1    ", "-22  ", "true", "false"})},
      {"StringToNumber of floats",
       [](const Scope& s) {
         return ops::StringToNumber(
             s, ops::Const(s, S1({" 1.5", "1e3", "-0.25 ", "0x10"})));
       },
       F({1.5f, 1000.0f, -0.25f, 16.0f}, {4})},
      {"StringToNumber of int64",
       [](const Scope& s) {
         return ops::StringToNumber(s, ops::Const(s, S1({" 12 ", "-3"})),
                                    ops::StringToNumber::OutType(DT_INT64));
       },
       I64({12, -3}, {2})},
      {"EncodeBase64 is web-safe, padded on request",
       [](const Scope& s) {
         return ops::ConcatV2(
             s,
             {ops::EncodeBase64(s, ops::Const(s, S1({"hi?>", ""}))),
              ops::EncodeBase64(s, ops::Const(s, S1({"hi?>"})),
                                ops::EncodeBase64::Pad(true))},
             0);
       },
       S1({"aGk_Pg", "", "aGk_Pg=="})},
      {"DecodeBase64 with or without padding",
       [](const Scope& s) {
         return ops::DecodeBase64(s, ops::Const(s, S1({"aGk_Pg", "aGk_Pg=="})));
       },
       S1({"hi?>", "hi?>"})},
  });
  for (const char* text : {"abc", "3000000000", "1.0"}) {
    absl::Status bad = RunStatus([text](const Scope& s) {
      return ops::StringToNumber(s, ops::Const(s, S1({text})),
                                 ops::StringToNumber::OutType(DT_INT32));
    });
    EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_TRUE(absl::StrContains(bad.message(), "is not a int32"))
        << bad << text;
  }
  absl::Status fill = RunStatus([](const Scope& s) {
    return ops::AsString(s, ops::Const(s, {1.0f}), ops::AsString::Fill("x"));
  });
  EXPECT_TRUE(absl::StrContains(fill.message(), "fill 'x' is not one of"))
      << fill;
  absl::Status precision = RunStatus([](const Scope& s) {
    return ops::AsString(s, ops::Const(s, {1}), ops::AsString::Precision(2));
  });
  EXPECT_TRUE(
      absl::StrContains(precision.message(), "precision is not supported"))
      << precision;
  absl::Status base64 = RunStatus([](const Scope& s) {
    return ops::DecodeBase64(s, ops::Const(s, S1({"a!bc"})));
  });
  EXPECT_TRUE(absl::StrContains(base64.message(), "is not web-safe base64"))
      << base64;
}

}  // namespace
}  // namespace rill
