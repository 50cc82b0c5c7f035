// Neural-network ops: bias, activations and their gradients, softmax and
// cross-entropy, convolution and pooling. Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/ops/type_sets.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

using shape_fns::UnchangedShape;

// The channel dimension's index for a data_format and rank.
int ChannelDim(const std::string& format, int rank) {
  return format == "NCHW" ? 1 : rank - 1;
}

absl::Status BiasAddShape(InferenceContext* c) {
  std::string format;
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  ASSIGN_OR_RETURN(PartialTensorShape bias, c->WithRank(1, 1));
  const PartialTensorShape& value = c->input(0);
  RETURN_IF_ERROR(c->WithRankAtLeast(0, format == "NCHW" ? 3 : 2));
  if (value.unknown_rank()) {
    c->set_output(0, value);
    return absl::OkStatus();
  }
  const int ch = ChannelDim(format, value.dims());
  DimVector dims(value.dim_sizes().begin(), value.dim_sizes().end());
  const int64_t b = bias.dim_size(0);
  if (dims[ch] >= 0 && b >= 0 && dims[ch] != b) {
    return c->Error(absl::StrCat("bias of size ", b,
                                 " does not match the channel dimension of ",
                                 value.DebugString()));
  }
  if (dims[ch] < 0) dims[ch] = b;
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status BiasAddGradShape(InferenceContext* c) {
  std::string format;
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 2));
  const PartialTensorShape& in = c->input(0);
  c->set_output(0, in.unknown_rank() ? PartialTensorShape({-1})
                                     : PartialTensorShape({in.dim_size(
                                           ChannelDim(format, in.dims()))}));
  return absl::OkStatus();
}

// FusedBatchNorm: y has x's shape; the statistics have one value per
// channel of x (its last dimension for NHWC/NDHWC, the second for
// NCHW/NCDHW).
absl::StatusOr<int64_t> BatchNormChannels(InferenceContext* c, int x_input) {
  std::string format;
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  const int rank = format.size() == 5 ? 5 : 4;
  ASSIGN_OR_RETURN(PartialTensorShape x, c->WithRank(x_input, rank));
  ASSIGN_OR_RETURN(PartialTensorShape scale, c->WithRank(x_input + 1, 1));
  int64_t channels = -1;
  if (!x.unknown_rank()) channels = x.dim_size(format[1] == 'C' ? 1 : rank - 1);
  const int64_t s = scale.unknown_rank() ? -1 : scale.dim_size(0);
  if (channels >= 0 && s >= 0 && channels != s) {
    return c->Error(absl::StrCat("scale of size ", s, " does not match the ",
                                 channels, " channels of ", x.DebugString()));
  }
  return channels >= 0 ? channels : s;
}

absl::Status FusedBatchNormShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(int64_t channels, BatchNormChannels(c, 0));
  c->set_output(0, c->input(0));
  for (int i = 1; i < 5; ++i) c->set_output(i, PartialTensorShape({channels}));
  c->set_output(5, PartialTensorShape());  // Unknown: the device's own.
  return absl::OkStatus();
}

absl::Status FusedBatchNormGradShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(int64_t channels, BatchNormChannels(c, 1));
  c->set_output(0, c->input(1));
  c->set_output(1, PartialTensorShape({channels}));
  c->set_output(2, PartialTensorShape({channels}));
  c->set_output(3, PartialTensorShape({0}));
  c->set_output(4, PartialTensorShape({0}));
  return absl::OkStatus();
}

absl::Status SoftmaxShape(InferenceContext* c) {
  RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
  return UnchangedShape(c);
}

absl::Status SoftmaxCrossEntropyShape(InferenceContext* c) {
  absl::StatusOr<PartialTensorShape> both =
      BroadcastShapes(c->input(0), c->input(1));
  if (!both.ok()) return c->Error(both.status().message());
  if (both->unknown_rank()) {
    c->set_output(0, PartialTensorShape({-1}));
    c->set_output(1, PartialTensorShape({-1, -1}));
    return absl::OkStatus();
  }
  if (both->dims() != 2) {
    return c->Error(absl::StrCat("logits and labels must be [batch, classes], ",
                                 "got ", c->input(0).DebugString(), " and ",
                                 c->input(1).DebugString()));
  }
  c->set_output(0, PartialTensorShape({both->dim_size(0)}));
  c->set_output(1, *both);
  return absl::OkStatus();
}

absl::Status SparseSoftmaxCrossEntropyShape(InferenceContext* c) {
  ASSIGN_OR_RETURN(PartialTensorShape logits, c->WithRank(0, 2));
  ASSIGN_OR_RETURN(PartialTensorShape labels, c->WithRank(1, 1));
  const int64_t a = logits.dim_size(0), b = labels.dim_size(0);
  if (a >= 0 && b >= 0 && a != b) {
    return c->Error(
        absl::StrCat("logits have batch ", a, " but labels have ", b));
  }
  const int64_t batch = a >= 0 ? a : b;
  c->set_output(0, PartialTensorShape({batch}));
  c->set_output(1, PartialTensorShape({batch, logits.dim_size(1)}));
  return absl::OkStatus();
}

// Output size of one spatial dimension; -1 when the input size is unknown.
absl::StatusOr<int64_t> WindowOutputSize(int64_t in, int64_t window,
                                         int64_t stride, int64_t dilation,
                                         const std::string& padding,
                                         int64_t pad_before,
                                         int64_t pad_after) {
  if (stride <= 0 || window <= 0 || dilation <= 0) {
    return absl::InvalidArgumentError(
        "window sizes, strides and dilations must be positive");
  }
  if (in < 0) return -1;
  const int64_t effective = (window - 1) * dilation + 1;
  if (padding == "SAME") return (in + stride - 1) / stride;
  const int64_t padded = in + pad_before + pad_after;
  if (padded < effective) {
    return absl::InvalidArgumentError(
        absl::StrCat("window of size ", effective,
                     " is larger than the input of size ", padded));
  }
  return (padded - effective) / stride + 1;
}

// Shared by Conv2D and pooling: an NHWC/NCHW 4-D input, a window over the
// spatial dims, an output with `out_channels` channels (-1 keeps the input's).
absl::Status Window2DShape(InferenceContext* c,
                           const std::vector<int64_t>& window,
                           int64_t out_channels) {
  std::vector<int64_t> strides, dilations = {1, 1, 1, 1}, explicit_pads;
  std::string padding, format;
  RETURN_IF_ERROR(c->GetAttr("strides", &strides));
  RETURN_IF_ERROR(c->GetAttr("padding", &padding));
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  if (c->attrs().contains("dilations")) {
    RETURN_IF_ERROR(c->GetAttr("dilations", &dilations));
  }
  if (c->attrs().contains("explicit_paddings")) {
    RETURN_IF_ERROR(c->GetAttr("explicit_paddings", &explicit_pads));
  }
  if (strides.size() != 4 || dilations.size() != 4) {
    return c->Error("strides and dilations must have 4 entries");
  }
  if (padding == "EXPLICIT" && explicit_pads.size() != 8) {
    return c->Error("EXPLICIT padding needs 8 explicit_paddings");
  }
  ASSIGN_OR_RETURN(PartialTensorShape in, c->WithRank(0, 4));
  const bool nchw = format == "NCHW";
  const int h = nchw ? 2 : 1, w = nchw ? 3 : 2, ch = nchw ? 1 : 3;
  if (strides[0] != 1 || strides[ch] != 1) {
    return c->Error("strides along the batch and channel dimensions must be 1");
  }
  DimVector dims(4);
  dims[0] = in.dim_size(0);
  dims[ch] = out_channels >= 0 ? out_channels : in.dim_size(ch);
  for (int d : {h, w}) {
    const int64_t before = padding == "EXPLICIT" ? explicit_pads[2 * d] : 0;
    const int64_t after = padding == "EXPLICIT" ? explicit_pads[2 * d + 1] : 0;
    absl::StatusOr<int64_t> size =
        WindowOutputSize(in.dim_size(d), window[d == h ? 0 : 1], strides[d],
                         dilations[d], padding, before, after);
    if (!size.ok()) return c->Error(size.status().message());
    dims[d] = *size;
  }
  ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
  c->set_output(0, out);
  return absl::OkStatus();
}

absl::Status Conv2DShape(InferenceContext* c) {
  std::string format;
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  ASSIGN_OR_RETURN(PartialTensorShape filter, c->WithRank(1, 4));
  const PartialTensorShape& in = c->input(0);
  const int ch = format == "NCHW" ? 1 : 3;
  if (!in.unknown_rank() && in.dims() == 4 && in.dim_size(ch) >= 0 &&
      filter.dim_size(2) > 0 && in.dim_size(ch) % filter.dim_size(2) != 0) {
    return c->Error(absl::StrCat("input has ", in.dim_size(ch),
                                 " channels but the filter expects a multiple ",
                                 "of ", filter.dim_size(2)));
  }
  // Unknown filter sizes make the spatial output sizes unknown.
  if (filter.dim_size(0) < 0 || filter.dim_size(1) < 0) {
    ASSIGN_OR_RETURN(PartialTensorShape in4, c->WithRank(0, 4));
    DimVector dims = {in4.dim_size(0), -1, -1, -1};
    dims[ch] = filter.dim_size(3);
    ASSIGN_OR_RETURN(PartialTensorShape out, PartialTensorShape::Create(dims));
    c->set_output(0, out);
    return absl::OkStatus();
  }
  return Window2DShape(c, {filter.dim_size(0), filter.dim_size(1)},
                       filter.dim_size(3));
}

absl::Status PoolShape(InferenceContext* c) {
  std::vector<int64_t> ksize;
  std::string format;
  RETURN_IF_ERROR(c->GetAttr("ksize", &ksize));
  RETURN_IF_ERROR(c->GetAttr("data_format", &format));
  if (ksize.size() != 4) return c->Error("ksize must have 4 entries");
  const bool nchw = format == "NCHW";
  if (ksize[0] != 1 || ksize[nchw ? 1 : 3] != 1) {
    return c->Error(
        "pooling along the batch and channel dimensions is not "
        "supported");
  }
  return Window2DShape(c, {ksize[nchw ? 2 : 1], ksize[nchw ? 3 : 2]}, -1);
}

RILL_REGISTER_OP("BiasAdd")
    .Input("value: T")
    .Input("bias: T")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .SetShapeFn(BiasAddShape);

RILL_REGISTER_OP("BiasAddGrad")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr(absl::StrCat("T: ", type_sets::kNumber))
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .SetShapeFn(BiasAddGradShape);

RILL_REGISTER_OP("Relu")
    .Input("features: T")
    .Output("activations: T")
    .Attr(
        "T: {float, double, int32, uint8, int16, int8, int64, bfloat16, "
        "uint16, half, uint32, uint64, qint8}")
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Relu6")
    .Input("features: T")
    .Output("activations: T")
    .Attr(absl::StrCat("T: ", type_sets::kReal))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("LeakyRelu")
    .Input("features: T")
    .Output("activations: T")
    .Attr("alpha: float = 0.2")
    .Attr(absl::StrCat("T: ", type_sets::kFloat, " = DT_FLOAT"))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Elu")
    .Input("features: T")
    .Output("activations: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Softplus")
    .Input("features: T")
    .Output("activations: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("Softsign")
    .Input("features: T")
    .Output("activations: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("ReluGrad")
    .Input("gradients: T")
    .Input("features: T")
    .Output("backprops: T")
    .Attr(absl::StrCat("T: ", type_sets::kReal))
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("Relu6Grad")
    .Input("gradients: T")
    .Input("features: T")
    .Output("backprops: T")
    .Attr(absl::StrCat("T: ", type_sets::kReal))
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("LeakyReluGrad")
    .Input("gradients: T")
    .Input("features: T")
    .Output("backprops: T")
    .Attr("alpha: float = 0.2")
    .Attr(absl::StrCat("T: ", type_sets::kFloat, " = DT_FLOAT"))
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("EluGrad")
    .Input("gradients: T")
    .Input("outputs: T")
    .Output("backprops: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("Selu")
    .Input("features: T")
    .Output("activations: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(UnchangedShape);

RILL_REGISTER_OP("SeluGrad")
    .Input("gradients: T")
    .Input("outputs: T")
    .Output("backprops: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(shape_fns::MergeAllInputs);

RILL_REGISTER_OP("Softmax")
    .Input("logits: T")
    .Output("softmax: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(SoftmaxShape);

RILL_REGISTER_OP("LogSoftmax")
    .Input("logits: T")
    .Output("logsoftmax: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(SoftmaxShape);

RILL_REGISTER_OP("SoftmaxCrossEntropyWithLogits")
    .Input("features: T")
    .Input("labels: T")
    .Output("loss: T")
    .Output("backprop: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(SoftmaxCrossEntropyShape);

RILL_REGISTER_OP("SparseSoftmaxCrossEntropyWithLogits")
    .Input("features: T")
    .Input("labels: Tlabels")
    .Output("loss: T")
    .Output("backprop: T")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .Attr("Tlabels: {int32, int64} = DT_INT64")
    .SetShapeFn(SparseSoftmaxCrossEntropyShape);

RILL_REGISTER_OP("Conv2D")
    .Input("input: T")
    .Input("filter: T")
    .Output("output: T")
    .Attr("T: {half, bfloat16, float, double, int32}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn(Conv2DShape);

// The gradients of Conv2D: the shape input says the shape of what is being
// differentiated (the image or the filter), a 4-vector.
absl::Status ShapeFromSizes(InferenceContext* c, int sizes_input) {
  RETURN_IF_ERROR(c->WithRank(sizes_input, 1).status());
  ASSIGN_OR_RETURN(PartialTensorShape out,
                   c->ShapeFromShapeTensor(sizes_input));
  if (!out.unknown_rank() && out.dims() != 4) {
    return c->Error(
        absl::StrCat("the sizes input must have 4 entries, got ", out.dims()));
  }
  c->set_output(0, out);
  return absl::OkStatus();
}

RILL_REGISTER_OP("Conv2DBackpropInput")
    .Input("input_sizes: int32")
    .Input("filter: T")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {half, bfloat16, float, double, int32}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn([](InferenceContext* c) { return ShapeFromSizes(c, 0); });

RILL_REGISTER_OP("Conv2DBackpropFilter")
    .Input("input: T")
    .Input("filter_sizes: int32")
    .Input("out_backprop: T")
    .Output("output: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("strides: list(int)")
    .Attr("use_cudnn_on_gpu: bool = true")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("dilations: list(int) = [1, 1, 1, 1]")
    .SetShapeFn([](InferenceContext* c) { return ShapeFromSizes(c, 1); });

// The gradients of pooling: the shape of the pooled input.
RILL_REGISTER_OP("MaxPoolGrad")
    .Input("orig_input: T")
    .Input("orig_output: T")
    .Input("grad: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr(
        "T: {half, bfloat16, float, double, int32, int64, uint8, int16, int8, "
        "uint16, uint32, uint64} = DT_FLOAT")
    .SetShapeFn(shape_fns::UnchangedShape);

RILL_REGISTER_OP("AvgPoolGrad")
    .Input("orig_input_shape: int32")
    .Input("grad: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: {'SAME', 'VALID'}")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr("T: {half, bfloat16, float, double}")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape shape, c->ShapeFromShapeTensor(0));
      c->set_output(0, shape);
      return absl::OkStatus();
    });

RILL_REGISTER_OP("MaxPool")
    .Input("input: T")
    .Output("output: T")
    .Attr(
        "T: {half, bfloat16, float, double, int32, int64, uint8, int16, int8, "
        "uint16, qint8} = DT_FLOAT")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
    .Attr("explicit_paddings: list(int) = []")
    .Attr("data_format: {'NHWC', 'NCHW', 'NCHW_VECT_C'} = 'NHWC'")
    .SetShapeFn(PoolShape);

RILL_REGISTER_OP("AvgPool")
    .Input("value: T")
    .Output("output: T")
    .Attr("ksize: list(int) >= 4")
    .Attr("strides: list(int) >= 4")
    .Attr("padding: {'SAME', 'VALID'}")
    .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
    .Attr(absl::StrCat("T: ", type_sets::kFloat))
    .SetShapeFn(PoolShape);

// Batch normalization in one op (tf.compat.v1.layers.batch_normalization
// and Keras' BatchNormalization on 4-D and 5-D inputs).
RILL_REGISTER_OP("FusedBatchNormV3")
    .Input("x: T")
    .Input("scale: U")
    .Input("offset: U")
    .Input("mean: U")
    .Input("variance: U")
    .Output("y: T")
    .Output("batch_mean: U")
    .Output("batch_variance: U")
    .Output("reserve_space_1: U")
    .Output("reserve_space_2: U")
    .Output("reserve_space_3: U")
    .Attr("T: {half, bfloat16, float}")
    .Attr("U: {bfloat16, float}")
    .Attr("epsilon: float = 0.0001")
    .Attr("exponential_avg_factor: float = 1")
    .Attr("data_format: {'NHWC', 'NCHW', 'NDHWC', 'NCDHW'} = 'NHWC'")
    .Attr("is_training: bool = true")
    .SetShapeFn(FusedBatchNormShape);

RILL_REGISTER_OP("FusedBatchNormGradV3")
    .Input("y_backprop: T")
    .Input("x: T")
    .Input("scale: float")
    .Input("reserve_space_1: U")
    .Input("reserve_space_2: U")
    .Input("reserve_space_3: U")
    .Output("x_backprop: T")
    .Output("scale_backprop: U")
    .Output("offset_backprop: U")
    .Output("reserve_space_4: U")
    .Output("reserve_space_5: U")
    .Attr("T: {half, bfloat16, float}")
    .Attr("U: {float}")
    .Attr("epsilon: float = 0.0001")
    .Attr("data_format: {'NHWC', 'NCHW', 'NDHWC', 'NCDHW'} = 'NHWC'")
    .Attr("is_training: bool = true")
    .SetShapeFn(FusedBatchNormGradShape);

// Whether each row's target class is among its k largest predictions.
RILL_REGISTER_OP("InTopKV2")
    .Input("predictions: float")
    .Input("targets: T")
    .Input("k: T")
    .Output("precision: bool")
    .Attr("T: {int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      ASSIGN_OR_RETURN(PartialTensorShape predictions, c->WithRank(0, 2));
      RETURN_IF_ERROR(c->WithRank(1, 1).status());
      RETURN_IF_ERROR(c->WithRank(2, 0).status());
      c->set_output(0, PartialTensorShape({predictions.dim_size(0)}));
      return absl::OkStatus();
    });

// The k largest entries of each innermost row, with their indices.
RILL_REGISTER_OP("TopKV2")
    .Input("input: T")
    .Input("k: Tk")
    .Output("values: T")
    .Output("indices: index_type")
    .Attr("sorted: bool = true")
    .Attr(absl::StrCat("T: ", type_sets::kReal))
    .Attr("Tk: {int16, int32, int64} = DT_INT32")
    .Attr("index_type: {int16, int32, int64} = DT_INT32")
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      RETURN_IF_ERROR(c->WithRankAtLeast(0, 1));
      RETURN_IF_ERROR(c->WithRank(1, 0).status());
      ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> k,
                       c->ConstantInts(1));
      const PartialTensorShape& in = c->input(0);
      PartialTensorShape out;
      if (!in.unknown_rank()) {
        DimVector dims(in.dim_sizes().begin(), in.dim_sizes().end());
        const int64_t last = dims.back();
        dims.back() = k.has_value() ? (*k)[0] : -1;
        if (k.has_value() && last >= 0 && (*k)[0] > last) {
          return c->Error(absl::StrCat("k (", (*k)[0],
                                       ") is larger than the last dimension ",
                                       in.DebugString()));
        }
        ASSIGN_OR_RETURN(out, PartialTensorShape::Create(dims));
      }
      c->set_output(0, out);
      c->set_output(1, out);
      return absl::OkStatus();
    });

}  // namespace
}  // namespace rill
