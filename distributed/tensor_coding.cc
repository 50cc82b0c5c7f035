#include "distributed/tensor_coding.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/framework/tensor_proto.h"
#include "core/platform/status_macros.h"
#include "distributed/protos/worker.pb.h"
#include "grpcpp/support/slice.h"
#include "oneapi/tbb/blocked_range.h"
#include "oneapi/tbb/parallel_for.h"

namespace rill {
namespace {

// Field keys: (number << 3) | wire type (0 varint, 2 length-delimited).
constexpr uint8_t kResponseTensor = (1 << 3) | 2;
constexpr uint8_t kResponseIsDead = (2 << 3) | 0;
constexpr uint8_t kProtoDtype = (1 << 3) | 0;
constexpr uint8_t kProtoShape = (2 << 3) | 2;
constexpr uint8_t kProtoContent = (4 << 3) | 2;
constexpr size_t kParallelCopyBytes = 4 << 20;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Reads a message spread over gRPC slices.
class SliceReader {
 public:
  explicit SliceReader(const std::vector<grpc::Slice>& slices)
      : slices_(slices) {
    for (const auto& s : slices) left_ += s.size();
  }
  size_t left() const { return left_; }

  bool ReadByte(uint8_t* b) {
    if (left_ == 0) return false;
    while (offset_ == slices_[index_].size()) {
      ++index_;
      offset_ = 0;
    }
    *b = slices_[index_].begin()[offset_++];
    --left_;
    return true;
  }
  bool ReadVarint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!ReadByte(&b)) return false;
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  // Copies n bytes to dst (nullptr: skips them). Large copies run as
  // parallel tasks over the slices: the receiver's one copy of a big
  // tensor is memory-bound work that a single thread does not saturate.
  bool Read(size_t n, char* dst) {
    if (n > left_) return false;
    left_ -= n;
    // A large copy is gathered into pieces first; a small one (a shape, a
    // dtype) copies as it goes.
    const bool gather = dst != nullptr && n >= kParallelCopyBytes;
    struct Piece {
      const uint8_t* src;
      size_t len;
      char* dst;
    };
    std::vector<Piece> pieces;
    while (n > 0) {
      const grpc::Slice& s = slices_[index_];
      const size_t take = std::min(n, s.size() - offset_);
      if (gather) {
        pieces.push_back({s.begin() + offset_, take, dst});
      } else if (dst != nullptr) {
        std::memcpy(dst, s.begin() + offset_, take);
      }
      if (dst != nullptr) dst += take;
      offset_ += take;
      n -= take;
      if (offset_ == s.size() && n > 0) {
        ++index_;
        offset_ = 0;
      }
    }
    auto copy = [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) {
        std::memcpy(pieces[i].dst, pieces[i].src, pieces[i].len);
      }
    };
    if (pieces.size() < 2) {
      copy(0, pieces.size());
    } else {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<size_t>(0, pieces.size()),
          [&](const oneapi::tbb::blocked_range<size_t>& r) {
            copy(r.begin(), r.end());
          });
    }
    return true;
  }

 private:
  const std::vector<grpc::Slice>& slices_;
  size_t index_ = 0;
  size_t offset_ = 0;
  size_t left_ = 0;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed RecvTensorResponse: ", what));
}

// The general path: the whole message through protobuf.
absl::Status DecodeWithProtobuf(const std::vector<grpc::Slice>& slices,
                                int64_t max_bytes, Tensor* tensor,
                                bool* is_dead) {
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  ::tensorflow::RecvTensorResponse response;
  if (!response.ParseFromString(bytes)) return Malformed("cannot parse");
  *is_dead = response.is_dead();
  if (*is_dead) return absl::OkStatus();
  ASSIGN_OR_RETURN(*tensor, TensorFromProto(response.tensor(), max_bytes));
  return absl::OkStatus();
}

}  // namespace

void EncodeRecvTensorResponse(const Tensor& tensor, bool is_dead,
                              grpc::ByteBuffer* out) {
  if (is_dead || tensor.dtype() == DT_STRING) {
    ::tensorflow::RecvTensorResponse response;
    response.set_is_dead(is_dead);
    if (!is_dead) TensorToProto(tensor, response.mutable_tensor());
    const std::string bytes = response.SerializeAsString();
    grpc::Slice slice(bytes.data(), bytes.size());
    *out = grpc::ByteBuffer(&slice, 1);
    return;
  }
  ::tensorflow::TensorProto meta;
  meta.set_dtype(tensor.dtype());
  for (int d = 0; d < tensor.dims(); ++d) {
    meta.mutable_tensor_shape()->add_dim()->set_size(tensor.dim_size(d));
  }
  const std::string meta_bytes = meta.SerializeAsString();
  const uint64_t content = tensor.TotalBytes();
  const uint64_t proto_size =
      meta_bytes.size() + 1 + VarintSize(content) + content;
  std::string header;
  header.push_back(static_cast<char>(kResponseTensor));
  PutVarint(&header, proto_size);
  header += meta_bytes;
  header.push_back(static_cast<char>(kProtoContent));
  PutVarint(&header, content);
  grpc::Slice slices[2] = {grpc::Slice(header.data(), header.size()),
                           grpc::Slice()};
  size_t count = 1;
  if (content > 0) {
    // The slice owns a reference to the tensor until gRPC has sent it.
    auto* keep = new Tensor(tensor);
    slices[1] = grpc::Slice(
        keep->raw_data(), content,
        [](void* t) { delete static_cast<Tensor*>(t); }, keep);
    count = 2;
  }
  *out = grpc::ByteBuffer(slices, count);
}

namespace {

absl::Status DecodeResponse(const grpc::ByteBuffer& in, int64_t max_bytes,
                            Tensor* tensor, bool* is_dead) {
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) return Malformed("unreadable buffer");
  *is_dead = false;
  // The fast path: [tensor: [dtype][shape][content]] [is_dead]. Anything
  // else falls back to protobuf.
  SliceReader r(slices);
  bool have_tensor = false;
  while (r.left() > 0) {
    uint64_t key;
    if (!r.ReadVarint(&key)) return Malformed("truncated key");
    if (key == kResponseIsDead) {
      uint64_t dead;
      if (!r.ReadVarint(&dead)) return Malformed("truncated is_dead");
      *is_dead = dead != 0;
      continue;
    }
    if (key != kResponseTensor || have_tensor) {
      return DecodeWithProtobuf(slices, max_bytes, tensor, is_dead);
    }
    have_tensor = true;
    uint64_t proto_size;
    if (!r.ReadVarint(&proto_size) || proto_size > r.left()) {
      return Malformed("truncated tensor");
    }
    const size_t end = r.left() - proto_size;
    uint64_t dtype = 0;
    ::tensorflow::TensorShapeProto shape;
    bool have_content = false;
    // Bytes of the tensor message still unread; 0 once a field has run
    // past its end (which makes that field malformed).
    auto inside = [&r, end] { return r.left() > end ? r.left() - end : 0; };
    while (r.left() > end) {
      uint64_t k;
      if (!r.ReadVarint(&k) || inside() == 0) {
        return Malformed("truncated tensor field");
      }
      if (k == kProtoDtype && !have_content) {
        if (!r.ReadVarint(&dtype) || r.left() < end) {
          return Malformed("truncated dtype");
        }
      } else if (k == kProtoShape && !have_content) {
        uint64_t n;
        if (!r.ReadVarint(&n) || n > inside()) {
          return Malformed("truncated shape");
        }
        std::string bytes(n, '\0');
        r.Read(n, bytes.data());
        if (!shape.ParseFromString(bytes)) return Malformed("bad shape");
      } else if (k == kProtoContent && !have_content) {
        uint64_t n;
        if (!r.ReadVarint(&n) || n > inside()) {
          return Malformed("truncated content");
        }
        ::tensorflow::TensorProto meta;
        meta.set_dtype(static_cast<DataType>(dtype));
        *meta.mutable_tensor_shape() = shape;
        // Strings, and the dtypes no wire form carries (variant, resource,
        // and their refs: refused there), take protobuf's path.
        const DataType base = BaseType(static_cast<DataType>(dtype));
        if (!::tensorflow::DataType_IsValid(static_cast<int>(dtype)) ||
            base == DT_STRING || base == ::tensorflow::DT_VARIANT ||
            base == ::tensorflow::DT_RESOURCE) {
          return DecodeWithProtobuf(slices, max_bytes, tensor, is_dead);
        }
        absl::StatusOr<TensorShape> dims =
            TensorShape::FromProto(meta.tensor_shape());
        if (!dims.ok()) return Malformed(dims.status().message());
        const int64_t want =
            dims->num_elements() *
            static_cast<int64_t>(DataTypeSize(static_cast<DataType>(dtype)));
        if (want > max_bytes) {
          return absl::ResourceExhaustedError(
              absl::StrCat("a received tensor of ", want,
                           " bytes is over the limit of ", max_bytes));
        }
        if (static_cast<uint64_t>(want) != n) {
          return Malformed(absl::StrCat("content of ", n, " bytes for shape ",
                                        dims->DebugString()));
        }
        ASSIGN_OR_RETURN(*tensor, Tensor::CreateUninitialized(
                                      static_cast<DataType>(dtype), *dims));
        r.Read(n, static_cast<char*>(tensor->raw_data()));
        have_content = true;
      } else {
        return DecodeWithProtobuf(slices, max_bytes, tensor, is_dead);
      }
    }
    if (!have_content) {
      return DecodeWithProtobuf(slices, max_bytes, tensor, is_dead);
    }
  }
  if (!have_tensor && !*is_dead) return Malformed("no tensor");
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeRecvTensorResponse(const grpc::ByteBuffer& in,
                                      int64_t max_bytes, Tensor* tensor,
                                      bool* is_dead) {
  RETURN_IF_ERROR(DecodeResponse(in, max_bytes, tensor, is_dead));
  // A dead tensor has no value, whatever else the message carried (as
  // the encoder writes none).
  if (*is_dead) tensor->Clear();
  return absl::OkStatus();
}

}  // namespace rill
