#include "core/platform/hash.h"

#include <cstring>
#include <utility>

namespace rill {
namespace {

// FarmHash's constants (primes between 2^63 and 2^64).
constexpr uint64_t kP0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t kP1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t kP2 = 0x9ae16a3b2f90404fULL;

// Little-endian loads (the host is little-endian, as every target of Rill).
uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

uint64_t RotR(uint64_t v, int shift) {
  return shift == 0 ? v : (v >> shift) | (v << (64 - shift));
}
uint64_t Mix47(uint64_t v) { return v ^ (v >> 47); }

// Two words into one (a Murmur-style combine).
uint64_t Combine(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = Mix47((u ^ v) * mul);
  uint64_t b = Mix47((v ^ a) * mul);
  return b * mul;
}

uint64_t UpTo16(const char* s, size_t n) {
  if (n >= 8) {
    const uint64_t mul = kP2 + n * 2;
    const uint64_t a = Load64(s) + kP2;
    const uint64_t b = Load64(s + n - 8);
    return Combine(RotR(b, 37) * mul + a, (RotR(a, 25) + b) * mul, mul);
  }
  if (n >= 4) {
    const uint64_t mul = kP2 + n * 2;
    const uint64_t a = Load32(s);
    return Combine(n + (a << 3), Load32(s + n - 4), mul);
  }
  if (n > 0) {
    const uint8_t first = static_cast<uint8_t>(s[0]);
    const uint8_t middle = static_cast<uint8_t>(s[n >> 1]);
    const uint8_t last = static_cast<uint8_t>(s[n - 1]);
    const uint32_t y = first + (static_cast<uint32_t>(middle) << 8);
    const uint32_t z = static_cast<uint32_t>(n) + (last << 2);
    return Mix47(y * kP2 ^ z * kP0) * kP2;
  }
  return kP2;
}

uint64_t UpTo32(const char* s, size_t n) {
  const uint64_t mul = kP2 + n * 2;
  const uint64_t a = Load64(s) * kP1;
  const uint64_t b = Load64(s + 8);
  const uint64_t c = Load64(s + n - 8) * mul;
  const uint64_t d = Load64(s + n - 16) * kP2;
  return Combine(RotR(a + b, 43) + RotR(c, 30) + d, a + RotR(b + kP2, 18) + c,
                 mul);
}

uint64_t UpTo64(const char* s, size_t n) {
  const uint64_t mul = kP2 + n * 2;
  const uint64_t a = Load64(s) * kP2;
  const uint64_t b = Load64(s + 8);
  const uint64_t c = Load64(s + n - 8) * mul;
  const uint64_t d = Load64(s + n - 16) * kP2;
  const uint64_t y = RotR(a + b, 43) + RotR(c, 30) + d;
  const uint64_t z = Combine(y, a + RotR(b + kP2, 18) + c, mul);
  const uint64_t e = Load64(s + 16) * mul;
  const uint64_t f = Load64(s + 24);
  const uint64_t g = (y + Load64(s + n - 32)) * mul;
  const uint64_t h = (z + Load64(s + n - 24)) * mul;
  return Combine(RotR(e + f, 43) + RotR(g, 30) + h, e + RotR(f + a, 18) + g,
                 mul);
}

// 32 bytes and two seeds into two words.
std::pair<uint64_t, uint64_t> Weak32(const char* s, uint64_t a, uint64_t b) {
  const uint64_t w = Load64(s), x = Load64(s + 8), y = Load64(s + 16),
                 z = Load64(s + 24);
  a += w;
  b = RotR(b + a + z, 21);
  const uint64_t c = a;
  a += x;
  a += y;
  b += RotR(a, 44);
  return {a + z, b + c};
}

uint64_t SipRotL(uint64_t v, int shift) {
  return (v << shift) | (v >> (64 - shift));
}

struct SipState {
  uint64_t v0, v1, v2, v3;
  void Round() {
    v0 += v1;
    v1 = SipRotL(v1, 13) ^ v0;
    v0 = SipRotL(v0, 32);
    v2 += v3;
    v3 = SipRotL(v3, 16) ^ v2;
    v0 += v3;
    v3 = SipRotL(v3, 21) ^ v0;
    v2 += v1;
    v1 = SipRotL(v1, 17) ^ v2;
    v2 = SipRotL(v2, 32);
  }
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t Fingerprint64(std::string_view bytes) {
  const char* s = bytes.data();
  const size_t n = bytes.size();
  if (n <= 16) return UpTo16(s, n);
  if (n <= 32) return UpTo32(s, n);
  if (n <= 64) return UpTo64(s, n);
  // 64-byte blocks; the last block is the final 64 bytes, overlapping the
  // one before when n is not a multiple of 64.
  constexpr uint64_t kSeed = 81;
  uint64_t x = kSeed;
  uint64_t y = kSeed * kP1 + 113;
  uint64_t z = Mix47(y * kP2 + 113) * kP2;
  std::pair<uint64_t, uint64_t> v = {0, 0}, w = {0, 0};
  x = x * kP2 + Load64(s);
  const char* end = s + ((n - 1) / 64) * 64;
  const char* last = end + ((n - 1) & 63) - 63;
  do {
    x = RotR(x + y + v.first + Load64(s + 8), 37) * kP1;
    y = RotR(y + v.second + Load64(s + 48), 42) * kP1;
    x ^= w.second;
    y += v.first + Load64(s + 40);
    z = RotR(z + w.first, 33) * kP1;
    v = Weak32(s, v.second * kP1, x + w.first);
    w = Weak32(s + 32, z + w.second, y + Load64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);
  const uint64_t mul = kP1 + ((z & 0xff) << 1);
  s = last;
  w.first += (n - 1) & 63;
  v.first += w.first;
  w.first += v.first;
  x = RotR(x + y + v.first + Load64(s + 8), 37) * mul;
  y = RotR(y + v.second + Load64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + Load64(s + 40);
  z = RotR(z + w.first, 33) * mul;
  v = Weak32(s, v.second * mul, x + w.first);
  w = Weak32(s + 32, z + w.second, y + Load64(s + 16));
  std::swap(z, x);
  return Combine(Combine(v.first, w.first, mul) + Mix47(y) * kP0 + z,
                 Combine(v.second, w.second, mul) + x, mul);
}

uint64_t SipHash24(uint64_t key0, uint64_t key1, std::string_view bytes) {
  SipState st{key0 ^ 0x736f6d6570736575ULL, key1 ^ 0x646f72616e646f6dULL,
              key0 ^ 0x6c7967656e657261ULL, key1 ^ 0x7465646279746573ULL};
  const size_t n = bytes.size();
  const size_t whole = n - n % 8;
  for (size_t i = 0; i < whole; i += 8) st.Absorb(Load64(bytes.data() + i));
  // The tail, zero-padded, with the length's low byte on top.
  uint64_t tail = static_cast<uint64_t>(n & 0xff) << 56;
  for (size_t i = whole; i < n; ++i) {
    tail |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i]))
            << (8 * (i - whole));
  }
  st.Absorb(tail);
  st.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) st.Round();
  return st.v0 ^ st.v1 ^ st.v2 ^ st.v3;
}

}  // namespace rill
