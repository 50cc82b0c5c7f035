// _Send and _Recv: the node pairs the partitioner inserts wherever a tensor
// crosses a device. Attrs follow TensorFlow's ops of the same names, so the
// same keys work between processes.
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"

namespace rill {
namespace {

RILL_REGISTER_OP("_Send")
    .Input("tensor: T")
    .Attr("T: type")
    .Attr("tensor_name: string")
    .Attr("send_device: string")
    .Attr("send_device_incarnation: int")
    .Attr("recv_device: string")
    .Attr("client_terminated: bool = false")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext*) { return absl::OkStatus(); });

RILL_REGISTER_OP("_Recv")
    .Output("tensor: tensor_type")
    .Attr("tensor_type: type")
    .Attr("tensor_name: string")
    .Attr("send_device: string")
    .Attr("send_device_incarnation: int")
    .Attr("recv_device: string")
    .Attr("client_terminated: bool = false")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

}  // namespace
}  // namespace rill
