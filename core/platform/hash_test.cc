#include "core/platform/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace rill {
namespace {

// Bytes ((i * 31 + 7 + n) mod 256 for i < n) and what TensorFlow 2.21 gives
// for them: tf.fingerprint's FarmHash fingerprint, and
// tf.strings.to_hash_bucket_strong(key = [0x0706050403020100,
// 0x0f0e0d0c0b0a0908], num_buckets = 2^63 - 1), SipHash-2-4 modulo the
// buckets. The lengths cover each of FarmHash's size classes and their
// edges.
struct Known {
  size_t n;
  uint64_t fingerprint;
  int64_t strong_bucket;
};
constexpr Known kKnown[] = {
    {0, 0x9ae16a3b2f90404fULL, 8246050544436514353LL},
    {1, 0x20022eb16a590d08ULL, 7837898740242292458LL},
    {2, 0x3031357c06d82f3dULL, 5700832116383739230LL},
    {3, 0x80961855d38d6f8bULL, 435026080673076260LL},
    {4, 0x1162441e686a9251ULL, 7993255765054568306LL},
    {5, 0xeeab1067b3bec08aULL, 3595557816472666353LL},
    {7, 0x7e3c1a71fee35744ULL, 5103073263495993443LL},
    {8, 0x4d1ef73957ad5069ULL, 3074409124775624831LL},
    {9, 0xde7d7f22c651560bULL, 5508463726294199199LL},
    {15, 0x25fa162ebf717641ULL, 2954027495257219635LL},
    {16, 0x74b417c74b94e20fULL, 8508357289715913701LL},
    {17, 0x10f4d26c93d80aa8ULL, 806935498797675478LL},
    {24, 0xd624bceb1a83888fULL, 3693207789319420730LL},
    {31, 0x20369ea0a97dc6cbULL, 3227780562977310678LL},
    {32, 0xe1a4c2dc1e05de55ULL, 8825932399408629041LL},
    {33, 0x446fb141d7d722a1ULL, 8156386720080896633LL},
    {48, 0xec0d9837ecce1917ULL, 1323287915519899768LL},
    {63, 0x30168395ca00aa7eULL, 7468286834051398057LL},
    {64, 0xaed80f867e3dd23cULL, 2774847447793158888LL},
    {65, 0x9648e10098d8234aULL, 6328577203497003000LL},
    {100, 0x0cd913b27ae31bc6ULL, 698776546977978224LL},
    {127, 0xb2f12f0303b15097ULL, 4963651617822396323LL},
    {128, 0xf4afd3b1d041f554ULL, 1249768073569230759LL},
    {129, 0x7eb8688118a34a5dULL, 4146000983301578580LL},
    {200, 0x8d6c0488e340098aULL, 4825883392735381768LL},
    {1000, 0x5f8c43546f178df3ULL, 7422800815390897930LL},
};

std::string Bytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 31 + 7 + n) % 256);
  return s;
}

TEST(HashTest, Fingerprint64IsTensorFlows) {
  for (const Known& k : kKnown) {
    EXPECT_EQ(Fingerprint64(Bytes(k.n)), k.fingerprint) << "length " << k.n;
  }
}

TEST(HashTest, SipHash24IsTensorFlows) {
  constexpr uint64_t kBuckets = (uint64_t{1} << 63) - 1;
  for (const Known& k : kKnown) {
    EXPECT_EQ(
        SipHash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, Bytes(k.n)) %
            kBuckets,
        static_cast<uint64_t>(k.strong_bucket))
        << "length " << k.n;
  }
}

// The reference vectors of SipHash's paper: key 00..0f, messages 00..(n-1).
TEST(HashTest, SipHash24PaperVectors) {
  std::string m;
  EXPECT_EQ(SipHash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, m),
            0x726fdb47dd0e0e31ULL);
  for (int i = 0; i < 15; ++i) m.push_back(static_cast<char>(i));
  EXPECT_EQ(SipHash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, m),
            0xa129ca6149be45e5ULL);
}

}  // namespace
}  // namespace rill
