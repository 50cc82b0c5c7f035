// tf.data in graph mode: dataset ops make a dataset (a DT_VARIANT scalar)
// from tensors or from another dataset; an iterator resource walks one
// (MakeIterator), and IteratorGetNext gives its elements, then OUT_OF_RANGE
// at the end. Schemas follow TensorFlow's.
#include "absl/strings/str_cat.h"
#include "core/framework/op_registry.h"
#include "core/framework/shape_inference.h"
#include "core/platform/status_macros.h"

namespace rill {
namespace {

absl::Status ScalarOutput(InferenceContext* c) {
  c->set_output(0, PartialTensorShape::Scalar());
  return absl::OkStatus();
}

// A dataset op with these extra inputs ("count: int64", ...) after its
// input dataset; every one has output_types, output_shapes and metadata.
void RegisterUnary(const char* name, std::vector<const char*> inputs,
                   std::vector<const char*> attrs = {}) {
  OpDefBuilder b(name);
  b.Input("input_dataset: variant");
  for (const char* in : inputs) b.Input(in);
  b.Output("handle: variant");
  for (const char* a : attrs) b.Attr(a);
  b.Attr("output_types: list(type) >= 1")
      .Attr("output_shapes: list(shape) >= 1")
      .Attr("metadata: string = ''")
      .SetShapeFn(ScalarOutput);
  op_registry_internal::Registrar registrar(b);
}

[[maybe_unused]] const bool kUnary = [] {
  RegisterUnary("RepeatDataset", {"count: int64"});
  RegisterUnary("TakeDataset", {"count: int64"});
  RegisterUnary("SkipDataset", {"count: int64"});
  RegisterUnary("BatchDatasetV2", {"batch_size: int64", "drop_remainder: bool"},
                {"parallel_copy: bool = false"});
  RegisterUnary("ShuffleDataset",
                {"buffer_size: int64", "seed: int64", "seed2: int64"},
                {"reshuffle_each_iteration: bool = true"});
  RegisterUnary("PrefetchDataset", {"buffer_size: int64"},
                {"slack_period: int = 0", "legacy_autotune: bool = true",
                 "buffer_size_min: int = 0"});
  RegisterUnary("CacheDataset", {"filename: string"});
  RegisterUnary("UnbatchDataset", {});
  return true;
}();

// Datasets that call a function of the graph's library on each element
// (its components, then the other_arguments the function captured), with
// these extra inputs after other_arguments.
void RegisterWithFunction(const char* name, const char* fn,
                          std::vector<const char*> inputs,
                          std::vector<const char*> attrs = {}) {
  OpDefBuilder b(name);
  b.Input("input_dataset: variant").Input("other_arguments: Targuments");
  for (const char* in : inputs) b.Input(in);
  b.Output("handle: variant")
      .Attr(absl::StrCat(fn, ": func"))
      .Attr("Targuments: list(type) >= 0")
      .Attr("output_types: list(type) >= 1")
      .Attr("output_shapes: list(shape) >= 1");
  for (const char* a : attrs) b.Attr(a);
  b.Attr("metadata: string = ''").SetShapeFn(ScalarOutput);
  op_registry_internal::Registrar registrar(b);
}

[[maybe_unused]] const bool kWithFunction = [] {
  // Elements are made in order, one at a time, whatever
  // num_parallel_calls or deterministic say (the order TensorFlow gives
  // when deterministic).
  RegisterWithFunction("ParallelMapDatasetV2", "f",
                       {"num_parallel_calls: int64"},
                       {"use_inter_op_parallelism: bool = true",
                        "deterministic: string = 'default'",
                        "preserve_cardinality: bool = false",
                        "use_unbounded_threadpool: bool = false"});
  RegisterWithFunction("FilterDataset", "predicate", {});
  RegisterWithFunction("FlatMapDataset", "f", {});
  RegisterWithFunction("InterleaveDataset", "f",
                       {"cycle_length: int64", "block_length: int64"});
  return true;
}();

RILL_REGISTER_OP("ZipDataset")
    .Input("input_datasets: N * variant")
    .Output("handle: variant")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("N: int >= 1")
    .Attr("metadata: string = ''")
    .SetShapeFn(ScalarOutput);

// Batches padded to padded_shapes (-1: the largest in the batch) with
// padding_values.
RILL_REGISTER_OP("PaddedBatchDatasetV2")
    .Input("input_dataset: variant")
    .Input("batch_size: int64")
    .Input("padded_shapes: N * int64")
    .Input("padding_values: Toutput_types")
    .Input("drop_remainder: bool")
    .Output("handle: variant")
    .Attr("parallel_copy: bool = false")
    .Attr("Toutput_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("N: int >= 1")
    .Attr("metadata: string = ''")
    .SetShapeFn(ScalarOutput);

// An iterator over the dataset that dataset_factory (a function of no
// arguments) makes, made when the op first runs.
RILL_REGISTER_OP("OneShotIterator")
    .Output("handle: resource")
    .Attr("dataset_factory: func")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("container: string = ''")
    .Attr("shared_name: string = ''")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

// MapDataset: f applied to each element (its components, then the
// other_arguments the function captured).
RILL_REGISTER_OP("MapDataset")
    .Input("input_dataset: variant")
    .Input("other_arguments: Targuments")
    .Output("handle: variant")
    .Attr("f: func")
    .Attr("Targuments: list(type) >= 0")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("use_inter_op_parallelism: bool = true")
    .Attr("preserve_cardinality: bool = false")
    .Attr("force_synchronous: bool = false")
    .Attr("metadata: string = ''")
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("TensorSliceDataset")
    .Input("components: Toutput_types")
    .Output("handle: variant")
    .Attr("Toutput_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("is_files: bool = false")
    .Attr("metadata: string = ''")
    .Attr("replicate_on_split: bool = false")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("TensorDataset")
    .Input("components: Toutput_types")
    .Output("handle: variant")
    .Attr("Toutput_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("metadata: string = ''")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("RangeDataset")
    .Input("start: int64")
    .Input("stop: int64")
    .Input("step: int64")
    .Output("handle: variant")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .Attr("metadata: string = ''")
    .Attr("replicate_on_split: bool = false")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("IteratorV2")
    .Output("handle: resource")
    .Attr("shared_name: string")
    .Attr("container: string")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("MakeIterator")
    .Input("dataset: variant")
    .Input("iterator: resource")
    .SetIsStateful()
    .SetShapeFn(shape_fns::UnknownShape);

RILL_REGISTER_OP("IteratorGetNext")
    .Input("iterator: resource")
    .Output("components: output_types")
    .Attr("output_types: list(type) >= 1")
    .Attr("output_shapes: list(shape) >= 1")
    .SetIsStateful()
    .SetShapeFn([](InferenceContext* c) -> absl::Status {
      std::vector<PartialTensorShape> shapes;
      RETURN_IF_ERROR(c->GetAttr("output_shapes", &shapes));
      if (static_cast<int>(shapes.size()) != c->num_outputs()) {
        return c->Error(absl::StrCat("output_shapes has ", shapes.size(),
                                     " shapes for ", c->num_outputs(),
                                     " output_types"));
      }
      for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, shapes[i]);
      return absl::OkStatus();
    });

RILL_REGISTER_OP("IteratorToStringHandle")
    .Input("resource_handle: resource")
    .Output("string_handle: string")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

RILL_REGISTER_OP("IteratorFromStringHandleV2")
    .Input("string_handle: string")
    .Output("resource_handle: resource")
    .Attr("output_types: list(type) >= 0 = []")
    .Attr("output_shapes: list(shape) >= 0 = []")
    .SetIsStateful()
    .SetShapeFn(ScalarOutput);

}  // namespace
}  // namespace rill
