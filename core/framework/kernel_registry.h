// The kernel registry: (op, device type, dtype constraints) -> a factory
// that makes the kernel for a node.
//
// Kernels register at static initialization from kernels/cpu/ and
// kernels/cuda/. Templated kernels register one entry per dtype with
// RegisterKernelForTypes:
//
//   RegisterKernelForTypes<MatMulOp, float, double>(
//       KernelDef("MatMul", kDeviceCpu), "T");
//
// Devices ask the registry whether they can run a node (HasKernel), so the
// placer never needs to know about kernels itself.
#ifndef RILL_CORE_FRAMEWORK_KERNEL_REGISTRY_H_
#define RILL_CORE_FRAMEWORK_KERNEL_REGISTRY_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/framework/op_kernel.h"
#include "core/framework/types.h"

namespace rill {

struct KernelDef {
  KernelDef(std::string op, std::string device_type)
      : op(std::move(op)), device_type(std::move(device_type)) {}
  // The kernel applies when the node's type attr `attr` is one of `types`.
  KernelDef& TypeConstraint(std::string attr, std::vector<DataType> types) {
    constraints.emplace_back(std::move(attr), std::move(types));
    return *this;
  }

  std::string op;
  std::string device_type;
  std::vector<std::pair<std::string, std::vector<DataType>>> constraints;
};

using KernelFactory = std::function<absl::StatusOr<std::unique_ptr<OpKernel>>(
    OpKernelConstruction*)>;

class KernelRegistry {
 public:
  static KernelRegistry* Global();

  void Register(KernelDef def, KernelFactory factory);
  bool HasKernel(const std::string& device_type, const Node& node) const;
  // The ops with at least one kernel, sorted.
  std::vector<std::string> Ops() const;
  // NOT_FOUND naming the op, device and dtypes when no kernel fits.
  absl::StatusOr<std::unique_ptr<OpKernel>> CreateKernel(
      const std::string& device_type, const Node& node,
      const FunctionEnv* functions = nullptr) const;

 private:
  struct Entry {
    KernelDef def;
    KernelFactory factory;
  };
  const Entry* Find(const std::string& device_type, const Node& node) const;

  mutable absl::Mutex mu_;
  // op name -> its kernels on every device.
  absl::flat_hash_map<std::string, std::vector<Entry>> kernels_
      ABSL_GUARDED_BY(mu_);
};

// Registers K<T> for each T of Ts, constrained on `type_attr`.
template <template <typename> class K, typename... Ts>
void RegisterKernelForTypes(const KernelDef& base,
                            const std::string& type_attr) {
  (KernelRegistry::Global()->Register(
       KernelDef(base).TypeConstraint(type_attr, {DataTypeToEnum<Ts>::value}),
       [](OpKernelConstruction* c)
           -> absl::StatusOr<std::unique_ptr<OpKernel>> {
         return std::unique_ptr<OpKernel>(new K<Ts>(c));
       }),
   ...);
}

// Registers a non-template kernel K.
template <typename K>
void RegisterKernel(const KernelDef& def) {
  KernelRegistry::Global()->Register(
      def,
      [](OpKernelConstruction* c) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
        return std::unique_ptr<OpKernel>(new K(c));
      });
}

}  // namespace rill

#endif  // RILL_CORE_FRAMEWORK_KERNEL_REGISTRY_H_
