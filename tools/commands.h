// The subcommands of the `rill` program. Each writes its normal output to
// `out` and returns a Status; main() turns a non-OK Status into the one-line
// "rill: CODE: message" on stderr and a non-zero exit (SPEC 3).
#ifndef RILL_TOOLS_COMMANDS_H_
#define RILL_TOOLS_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace rill::tools {

using Args = std::vector<std::string>;

// rill inspect GRAPH: node count, op histogram, requested devices, and the
// first thing that fails validation (import, then shape inference).
absl::Status Inspect(const Args& args, std::ostream& out);
// rill dot GRAPH: Graphviz text of the graph.
absl::Status Dot(const Args& args, std::ostream& out);
// rill run GRAPH [--init N]... [--feed NAME=VALUE]... [--target N]...
// [--fetch NAME]... [--steps N] [--every K] [--devices CPU=N]
// [--format text|json] [--trace FILE.json] [--master grpc://HOST:PORT]:
// runs the graph in-process, or on a cluster through its master.
absl::Status Run(const Args& args, std::ostream& out);
// rill convert IN OUT: .pb <-> .pbtxt.
absl::Status Convert(const Args& args, std::ostream& out);
// rill server --cluster JSON --job NAME --task I [--devices CPU=N], or
// TF_CONFIG: serves one task until SIGTERM/SIGINT. Call BlockStopSignals()
// first, before any thread starts.
absl::Status Server(const Args& args, std::ostream& out);
void BlockStopSignals();
// rill health grpc://HOST:PORT [--timeout S]: OK when the server there
// answers GetStatus in time (a readiness probe).
absl::Status Health(const Args& args, std::ostream& out);
// rill ops: every registered op's OpDef, as a text OpList sorted by name
// (what client libraries generate their wrappers from).
absl::Status Ops(const Args& args, std::ostream& out);
// rill minimize GRAPH --loss NAME --out OUT [...]: the graph with the
// gradients and an optimizer's updates added (for clients without a
// gradient library); prints a JSON object naming the train op.
absl::Status Minimize(const Args& args, std::ostream& out);
// rill train MODEL --loss NAME --data NAME=FILE.npy --scheme SCHEME [...]
// (SPEC 7): trains the model with a distributed scheme.
absl::Status Train(const Args& args, std::ostream& out);
// rill fit ALGORITHM --data FILE.npy [...]: an exact algorithm (k-means,
// logistic regression by Newton, linear regression, Gaussian naive Bayes,
// PCA) in the statistical-query form of Chu et al.: sums over each
// worker's shard, added on the driver's task.
absl::Status Fit(const Args& args, std::ostream& out);

}  // namespace rill::tools

#endif  // RILL_TOOLS_COMMANDS_H_
