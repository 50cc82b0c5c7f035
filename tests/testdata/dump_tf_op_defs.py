#!/usr/bin/env python3
"""Writes tf_op_defs.pbtxt: TensorFlow's OpDefs (an OpList in text format,
descriptions stripped) for the ops that Rill declares in core/ops/.

core/ops/op_compat_test.cc checks each Rill declaration against it: same
inputs, outputs, attrs, defaults, and allowed types no wider than
TensorFlow's. Regenerate with
  pip install tensorflow-cpu && python3 tests/testdata/dump_tf_op_defs.py
"""
import os

from tensorflow.core.framework import op_def_pb2
from tensorflow.python.framework import op_def_registry
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))

OPS = """
Const Placeholder PlaceholderWithDefault Identity IdentityN NoOp StopGradient
PreventGradient
Add AddV2 Sub Mul RealDiv Div FloorDiv FloorMod Maximum Minimum Pow
SquaredDifference AddN Neg Abs Square Sqrt Rsqrt Exp Log Log1p Tanh Sigmoid
DivNoNan Atan2 L2Loss Floor Ceil Round Rint Erf Erfc Softplus Softsign
FusedBatchNormV3 FusedBatchNormGradV3 Selu SeluGrad IsFinite IsInf IsNan
GatherNd ScatterNd TopKV2 SegmentSum SegmentMean SegmentMax SegmentMin
UnsortedSegmentMax UnsortedSegmentMin
If StatelessIf While StatelessWhile PartitionedCall StatefulPartitionedCall
SparseTensorDenseMatMul SparseToDense
VariableShape
Sign Reciprocal Cast Equal NotEqual Less LessEqual Greater GreaterEqual
LogicalAnd LogicalOr LogicalNot Select SelectV2
MatMul BatchMatMulV2 BiasAdd Relu Relu6 LeakyRelu Elu Softmax LogSoftmax
SoftmaxCrossEntropyWithLogits SparseSoftmaxCrossEntropyWithLogits Conv2D
MaxPool AvgPool
Sum Mean Max Min Prod ArgMax ArgMin
Shape ShapeN Size Rank Reshape Squeeze ExpandDims Transpose ConcatV2 Pack Unpack
Split SplitV Slice StridedSlice Gather GatherV2 Tile Fill ZerosLike OnesLike
Range OneHot Pad BroadcastTo BroadcastGradientArgs DynamicStitch
InvertPermutation
RandomUniform RandomStandardNormal TruncatedNormal RandomUniformInt
StatelessRandomUniform StatelessRandomNormal StatelessTruncatedNormal
StatelessRandomUniformInt StatelessRandomUniformV2 StatelessRandomNormalV2
StatelessTruncatedNormalV2 StatelessRandomUniformIntV2
StatelessRandomGetKeyCounter StatelessRandomGetKeyCounterAlg StatelessRandomGetAlg
Einsum MatrixInverse MatrixDeterminant MatrixDiagV3 MatrixDiagPartV3 MatrixSetDiagV3
SparseApplyRMSProp ResourceSparseApplyRMSProp
SparseApplyCenteredRMSProp ResourceSparseApplyCenteredRMSProp
SparseApplyAdadelta ResourceSparseApplyAdadelta
SparseApplyProximalAdagrad ResourceSparseApplyProximalAdagrad
SparseApplyProximalGradientDescent ResourceSparseApplyProximalGradientDescent
SparseApplyFtrl ResourceSparseApplyFtrl
SparseApplyFtrlV2 ResourceSparseApplyFtrlV2
VariableV2 Assign AssignAdd AssignSub VarHandleOp ReadVariableOp
AssignVariableOp AssignAddVariableOp AssignSubVariableOp VarIsInitializedOp
IsVariableInitialized ResourceGather
Switch Merge
ApplyMomentum ApplyAdam ApplyAdagrad ApplyRMSProp ResourceApplyMomentum
ResourceApplyAdam ResourceApplyAdagrad ResourceApplyRMSProp MaxPoolGrad AvgPoolGrad
ApplyCenteredRMSProp ApplyAdadelta ApplyProximalAdagrad ApplyProximalGradientDescent
ApplyFtrl ApplyFtrlV2 ResourceApplyCenteredRMSProp ResourceApplyAdadelta
ResourceApplyProximalAdagrad ResourceApplyProximalGradientDescent
ResourceApplyFtrl ResourceApplyFtrlV2
ReluGrad Relu6Grad LeakyReluGrad EluGrad TanhGrad SigmoidGrad SqrtGrad
Conv2DBackpropInput Conv2DBackpropFilter StridedSliceGrad UnsortedSegmentSum
Cumsum Cumprod SaveV2 RestoreV2 MergeV2Checkpoints ShardedFilename ShardedFilespec
StringJoin StaticRegexFullMatch ScalarSummary MergeSummary Where
ResourceApplyGradientDescent
RsqrtGrad ReciprocalGrad BiasAddGrad ApplyGradientDescent
CollectiveReduceV2 CollectiveGatherV2 CollectiveBcastSendV2 CollectiveBcastRecvV2
FIFOQueueV2 QueueEnqueueV2 QueueEnqueueManyV2 QueueDequeueV2 QueueDequeueManyV2
QueueDequeueUpToV2 QueueCloseV2 QueueSizeV2 QueueIsClosedV2
ConditionalAccumulator AccumulatorApplyGradient AccumulatorTakeGradient
AccumulatorNumAccumulated AccumulatorSetGlobalStep ResourceConditionalAccumulator
ResourceAccumulatorApplyGradient ResourceAccumulatorTakeGradient
ResourceAccumulatorNumAccumulated ResourceAccumulatorSetGlobalStep
SparseConditionalAccumulator SparseAccumulatorApplyGradient SparseAccumulatorTakeGradient
ScatterAdd ScatterSub ScatterUpdate ResourceScatterAdd ResourceScatterSub
ResourceScatterUpdate SparseApplyAdagrad ResourceSparseApplyAdagrad SparseApplyMomentum
ResourceSparseApplyMomentum DisableCopyOnRead DynamicPartition ParallelDynamicStitch
Unique ConcatOffset UnsortedSegmentProd
StringLength StringStrip StringLower StringUpper StringToHashBucketFast
StringToHashBucketStrong Fingerprint EncodeBase64 DecodeBase64 RegexFullMatch
StaticRegexReplace RegexReplace Substr ReduceJoin StringSplitV2 AsString
StringToNumber
UniformCandidateSampler LogUniformCandidateSampler AllCandidateSampler
ComputeAccidentalHits
EmptyTensorList TensorListReserve TensorListFromTensor TensorListPushBack
TensorListPopBack TensorListSetItem TensorListGetItem TensorListStack
TensorListGather TensorListScatterIntoExistingList TensorListResize
TensorListLength TensorListElementShape OptionalFromValue OptionalNone
OptionalHasValue OptionalGetValue
TensorSliceDataset TensorDataset RangeDataset RepeatDataset TakeDataset
SkipDataset BatchDatasetV2 ShuffleDataset IteratorV2 MakeIterator
IteratorGetNext IteratorToStringHandle IteratorFromStringHandleV2
HistogramSummary MapDataset
Enter RefEnter Exit RefExit NextIteration RefNextIteration LoopCond
ControlTrigger RefSwitch RefMerge
TensorArrayV3 TensorArrayGradV3 TensorArrayGradWithShape TensorArrayWriteV3
TensorArrayReadV3 TensorArrayGatherV3 TensorArrayScatterV3 TensorArrayConcatV3
TensorArraySplitV3 TensorArraySizeV3 TensorArrayCloseV3 StackV2 StackPushV2
StackPopV2 StackCloseV2 All Any Assert
PrefetchDataset CacheDataset UnbatchDataset ParallelMapDatasetV2 FilterDataset
FlatMapDataset InterleaveDataset ZipDataset PaddedBatchDatasetV2 OneShotIterator
Inv Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Expm1
BroadcastArgs ReverseV2 InTopKV2 CheckNumerics Print StringFormat PrintV2
SparseSegmentSum SparseSegmentMean SparseSegmentSqrtN SparseSegmentSumGrad
SparseSegmentMeanGrad SparseSegmentSqrtNGrad SparseSegmentSumGradV2
SparseSegmentMeanGradV2 SparseSegmentSqrtNGradV2 SparseFillEmptyRows
SparseFillEmptyRowsGrad SparseReshape HashTableV2 LookupTableFindV2
LookupTableImportV2 InitializeTableV2 LookupTableSizeV2 Bucketize
""".split()


def main():
    ops = op_def_pb2.OpList()
    for name in OPS:
        op = op_def_registry.get(name)
        if op is None:
            raise SystemExit("TensorFlow has no op " + name)
        op = ops.op.add(name=op.name).MergeFrom(op) or ops.op[-1]
        op.ClearField("summary")
        op.ClearField("description")
        op.ClearField("deprecation")
        for arg in list(op.input_arg) + list(op.output_arg):
            arg.ClearField("description")
            arg.ClearField("experimental_full_type")
        for attr in op.attr:
            attr.ClearField("description")
    path = os.path.join(HERE, "tf_op_defs.pbtxt")
    with open(path, "w") as f:
        f.write("# TensorFlow %s OpDefs, written by %s\n" %
                (tf.__version__, os.path.basename(__file__)))
        f.write(str(ops))
    print("wrote %d ops to %s" % (len(ops.op), path))


if __name__ == "__main__":
    main()
