// Saver: saves variables to checkpoint files and restores them, as
// tf.compat.v1.train.Saver does.
//
//   auto saver = Saver::Create(root);            // every variable
//   ... create the session ...
//   ASSIGN_OR_RETURN(std::string path,
//                    saver->Save(session.get(), "/ckpt/model", step));
//   ASSIGN_OR_RETURN(std::string latest, LatestCheckpoint("/ckpt"));
//   RETURN_IF_ERROR(saver->Restore(session.get(), latest));
//
// Create adds save and restore nodes (under "save/") to the graph, so it
// comes before the session is created from the graph. A checkpoint is
// TensorFlow's V2 format (runtime/training/checkpoint_file.h: P.index and
// P.data-00000-of-00001), written atomically, so TensorFlow's Saver reads
// Rill's and Rill's reads TensorFlow's; the
// directory's "checkpoint" file (TensorFlow's CheckpointState text format)
// lists the kept checkpoints, newest last, and is replaced atomically after
// the checkpoint itself is in place. A process killed during a save leaves
// the previous checkpoint and the list intact.
#ifndef RILL_RUNTIME_TRAINING_SAVER_H_
#define RILL_RUNTIME_TRAINING_SAVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cc/output.h"
#include "core/cc/scope.h"
#include "runtime/session/session.h"

namespace rill {

struct SaverOptions {
  // The variables (VariableV2 or VarHandleOp outputs) to save; every
  // variable of the graph when empty.
  std::vector<Output> var_list;
  // The name each of var_list is saved under (a model's own name for a
  // copy of its variable); the variables' node names when empty.
  std::vector<std::string> names;
  // Per variable, "" or the slice of the saved tensor the variable is, in
  // shape_and_slices form ("10 4 0,5:-": a partitioned variable's part);
  // every variable whole when empty.
  std::vector<std::string> slices;
  // Older checkpoints of this saver's directory are deleted; 0 keeps all.
  int max_to_keep = 5;
};

class Saver {
 public:
  static absl::StatusOr<std::unique_ptr<Saver>> Create(
      const Scope& scope, const SaverOptions& options = {});

  // Writes the variables to "<prefix>-<global_step>" (just "<prefix>" when
  // global_step < 0) and returns that checkpoint path. NOT_FOUND when the
  // directory does not exist.
  absl::StatusOr<std::string> Save(SessionInterface* session,
                                   const std::string& prefix,
                                   int64_t global_step = -1);
  // Loads every variable from the checkpoint `path`. Before touching any
  // variable: NOT_FOUND naming a missing tensor, INVALID_ARGUMENT naming a
  // tensor whose dtype or shape differ from the variable's; DATA_LOSS
  // naming a corrupt tensor.
  absl::Status Restore(SessionInterface* session, const std::string& path);

  // The checkpoints this saver keeps, oldest first.
  const std::vector<std::string>& checkpoints() const { return kept_; }

 private:
  struct Var {
    std::string name;
    DataType dtype;
    PartialTensorShape shape;
    std::string slice;
  };
  Saver(std::vector<Var> vars, int max_to_keep)
      : vars_(std::move(vars)), max_to_keep_(max_to_keep) {}

  std::vector<Var> vars_;
  int max_to_keep_;
  std::vector<std::string> kept_;
  std::string kept_dir_;  // The directory kept_ was loaded for.
};

// The newest checkpoint listed in dir/checkpoint. NOT_FOUND when there is
// none, or when its file is missing.
absl::StatusOr<std::string> LatestCheckpoint(const std::string& dir);
// Every checkpoint dir/checkpoint lists, oldest first (empty when none).
std::vector<std::string> ListedCheckpoints(const std::string& dir);
// Every checkpoint in `dir`, newest first (by the global step its name
// ends with, then by time): those dir/checkpoint lists and any other whose
// index file is there (a save the list never recorded; a list that is
// damaged or gone). What a resume tries in turn; empty when there is none.
std::vector<std::string> CheckpointsNewestFirst(const std::string& dir);

// Restores the newest checkpoint in `dir` that restores (`restore`, on
// each of CheckpointsNewestFirst in turn, skipping those that are damaged,
// missing or of another model: DATA_LOSS, NOT_FOUND, INVALID_ARGUMENT) and
// returns its path; "" when `dir` holds no checkpoint at all. DATA_LOSS
// naming the directory and the newest one's fault when there are
// checkpoints but none restores: a resume must not start over on top of
// them. `skipped` hears of each one passed over.
absl::StatusOr<std::string> RestoreNewestIntact(
    const std::string& dir,
    const std::function<absl::Status(const std::string&)>& restore,
    const std::function<void(const std::string&, const absl::Status&)>&
        skipped = nullptr);

}  // namespace rill

#endif  // RILL_RUNTIME_TRAINING_SAVER_H_
