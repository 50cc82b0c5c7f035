// Handles used by the C++ graph-builder API: Operation (a node), Output (one
// output tensor of a node), Input (what an op function accepts: an Output,
// or a constant given inline as a C++ value or nested initializer list) and
// InputList (a list argument such as AddN's inputs).
//
// Handles borrow nodes owned by the Scope's Graph; they stay valid while the
// graph lives.
#ifndef RILL_CORE_CC_OUTPUT_H_
#define RILL_CORE_CC_OUTPUT_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/framework/tensor.h"
#include "core/graph/graph.h"

namespace rill {

class Operation {
 public:
  Operation() = default;
  explicit Operation(Node* node) : node_(node) {}

  Node* node() const { return node_; }
  const std::string& name() const { return node_->name(); }
  int num_outputs() const { return node_->num_outputs(); }

 private:
  Node* node_ = nullptr;
};

class Output {
 public:
  Output() = default;
  Output(Node* node, int index = 0) : op_(node), index_(index) {}  // NOLINT
  Output(Operation op, int index) : op_(op), index_(index) {}

  Node* node() const { return op_.node(); }
  Operation op() const { return op_; }
  int index() const { return index_; }
  DataType type() const { return node()->output_type(index_); }
  // "name:index", as a fetch or feed names it.
  std::string name() const;

 private:
  Operation op_;
  int index_ = 0;
};

// A value that becomes a Const node: a scalar, or a (nested) list of
// scalars that must be rectangular.
class Initializer {
 public:
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Initializer(T v) : tensor_(ScalarOf(v)) {}  // NOLINT
  Initializer(const char* s)                  // NOLINT
      : tensor_(Tensor::Scalar<std::string>(s)) {}
  Initializer(const std::string& s)  // NOLINT
      : tensor_(Tensor::Scalar<std::string>(s)) {}
  Initializer(const Tensor& t) : tensor_(t) {}  // NOLINT
  // A list of values or of lists: [1, 2] or [[1, 2], [3, 4]].
  Initializer(std::initializer_list<Initializer> list);

  const Tensor& tensor() const { return tensor_; }
  // Non-OK when a nested list is ragged or mixes dtypes.
  const absl::Status& status() const { return status_; }

 private:
  template <typename T>
  static Tensor ScalarOf(T v) {
    // Literals map to TensorFlow's defaults: float for floating point,
    // int32 for int, int64 for int64_t, bool for bool.
    if constexpr (std::is_same_v<T, bool>) {
      return Tensor::Scalar<bool>(v);
    } else if constexpr (std::is_floating_point_v<T>) {
      return std::is_same_v<T, double> ? Tensor::Scalar<double>(v)
                                       : Tensor::Scalar<float>(v);
    } else if constexpr (sizeof(T) == 8) {
      return Tensor::Scalar<int64_t>(static_cast<int64_t>(v));
    } else {
      return Tensor::Scalar<int32_t>(static_cast<int32_t>(v));
    }
  }

  Tensor tensor_;
  absl::Status status_;
};

class Input {
 public:
  Input(const Output& o) : output_(o) {}              // NOLINT
  Input(const Operation& op) : output_(op.node()) {}  // NOLINT
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  Input(T v) : initializer_(v), is_constant_(true) {}              // NOLINT
  Input(const char* s) : initializer_(s), is_constant_(true) {}    // NOLINT
  Input(const Tensor& t) : initializer_(t), is_constant_(true) {}  // NOLINT
  Input(const Initializer& init)                                   // NOLINT
      : initializer_(init), is_constant_(true) {}
  Input(std::initializer_list<Initializer> list)  // NOLINT
      : initializer_(list), is_constant_(true) {}

  bool is_constant() const { return is_constant_; }
  const Output& output() const { return output_; }
  const Initializer& initializer() const { return initializer_; }

 private:
  Output output_;
  Initializer initializer_ = Initializer(0);
  bool is_constant_ = false;
};

class InputList {
 public:
  InputList(std::initializer_list<Input> inputs)  // NOLINT
      : inputs_(inputs) {}
  InputList(const std::vector<Output>& outputs) {  // NOLINT
    for (const Output& o : outputs) inputs_.emplace_back(o);
  }

  const std::vector<Input>& inputs() const { return inputs_; }

 private:
  std::vector<Input> inputs_;
};

}  // namespace rill

#endif  // RILL_CORE_CC_OUTPUT_H_
