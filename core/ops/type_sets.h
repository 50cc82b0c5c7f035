// The dtype sets that TensorFlow's op schemas allow, as OpDefBuilder
// restriction strings, so that each op here accepts exactly the dtypes its
// TensorFlow counterpart accepts. Which of them have kernels is a separate
// question, answered by each device's kernel registry.
#ifndef RILL_CORE_OPS_TYPE_SETS_H_
#define RILL_CORE_OPS_TYPE_SETS_H_

namespace rill::type_sets {

// Every real and complex number type, quantized ones included.
inline constexpr char kNumber[] =
    "{float, double, int32, uint8, int16, int8, complex64, int64, qint8, "
    "quint8, qint32, bfloat16, qint16, quint16, uint16, complex128, half, "
    "uint32, uint64}";
// Real (non-complex, non-quantized) number types.
inline constexpr char kReal[] =
    "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, "
    "uint32, uint64}";
// kReal plus the quantized types (Max, Min).
inline constexpr char kRealAndQuantized[] =
    "{float, double, int32, uint8, int16, int8, int64, bfloat16, uint16, half, "
    "uint32, uint64, qint8, quint8, qint32, qint16, quint16}";
// Arithmetic of binary ops (Sub, Mul, Div, ...).
inline constexpr char kBinaryArithmetic[] =
    "{bfloat16, half, float, double, uint8, int8, uint16, int16, int32, "
    "uint32, uint64, int64, complex64, complex128}";
// Floating point and complex (Exp, Log, Tanh, ...).
inline constexpr char kFloatAndComplex[] =
    "{bfloat16, half, float, double, complex64, complex128}";
// Floating point only (Softmax, Elu, pooling, ...).
inline constexpr char kFloat[] = "{half, bfloat16, float, double}";
// Signed numbers (Neg, Sign, Reciprocal).
inline constexpr char kSigned[] =
    "{bfloat16, half, float, double, int8, int16, int32, int64, complex64, "
    "complex128}";
// Integer index types.
inline constexpr char kIndex[] = "{int32, int64}";

}  // namespace rill::type_sets

#endif  // RILL_CORE_OPS_TYPE_SETS_H_
