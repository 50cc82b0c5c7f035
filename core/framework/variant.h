// Variant: the element of a DT_VARIANT tensor, a value of any C++ type
// derived from VariantValue (a TensorList, an Optional, a dataset).
//
// Values are immutable once wrapped and shared by reference: copying a
// Variant, or a variant tensor, never copies the value. An op that changes
// a value makes a new one (sharing the unchanged parts, such as the
// tensors of a list). Variants live only in a process: they are not
// serialized to the wire or to checkpoints.
#ifndef RILL_CORE_FRAMEWORK_VARIANT_H_
#define RILL_CORE_FRAMEWORK_VARIANT_H_

#include <memory>
#include <string>
#include <utility>

namespace rill {

class VariantValue {
 public:
  virtual ~VariantValue() = default;
  // What kind of value this is ("TensorList", "Optional"), for messages.
  virtual std::string TypeName() const = 0;
  virtual std::string DebugString() const { return TypeName(); }
};

class Variant {
 public:
  // An empty variant (a freshly made variant tensor's elements).
  Variant() = default;
  explicit Variant(std::shared_ptr<const VariantValue> value)
      : value_(std::move(value)) {}

  bool empty() const { return value_ == nullptr; }
  // The value as a T, or null when it is empty or holds another type.
  template <typename T>
  const T* get() const {
    return dynamic_cast<const T*>(value_.get());
  }
  // The value as a shared T, or null.
  template <typename T>
  std::shared_ptr<const T> shared() const {
    return std::dynamic_pointer_cast<const T>(value_);
  }
  std::string TypeName() const {
    return value_ == nullptr ? "empty" : value_->TypeName();
  }
  std::string DebugString() const {
    return value_ == nullptr ? "<empty variant>" : value_->DebugString();
  }
  // Identity, not value, equality: the same shared value.
  bool operator==(const Variant& other) const { return value_ == other.value_; }

 private:
  std::shared_ptr<const VariantValue> value_;
};

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_VARIANT_H_
