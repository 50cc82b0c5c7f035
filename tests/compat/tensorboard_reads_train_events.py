"""`rill train --logdir` (SPEC 7) as TensorBoard reads it: the digits MLP
trained with allreduce on 2 workers and with async-ps on 1 ps and 2
workers, each into its own log directory; TensorBoard's EventAccumulator
(tensorboard from PyPI) and TensorFlow's summary_iterator read every event
file. Each run has one scalar "loss" per step (at the parameters' updates:
a sync step is one, an async step each worker's), the held-out "accuracy"
and "examples_per_second" once per epoch, rising steps and wall times,
finite values, and the loss the file holds for the last epoch falls below
its first; a second run into the same directory writes a second file.
"""
import glob
import json
import math
import os
import subprocess
import tempfile

import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from rill_cluster import BIN_DIR, RILL, ROOT, check

DATA = os.path.join(ROOT, "examples", "data")


def train(model, logdir, scheme, cluster, epochs):
    cmd = [RILL, "train", model, "--loss", "loss",
           "--data", "x=%s/digits_train_x.npy" % DATA,
           "--data", "y=%s/digits_train_y.npy" % DATA,
           "--eval", "x=%s/digits_test_x.npy" % DATA,
           "--eval", "y=%s/digits_test_y.npy" % DATA,
           "--metric", "accuracy", "--batch", "96", "--optimizer", "adam",
           "--lr", "0.01", "--scheme", scheme, "--local-cluster", cluster,
           "--epochs", str(epochs), "--logdir", logdir, "--format", "json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    check(out.returncode == 0, "%s: %s" % (scheme, out.stderr[-500:]))
    return json.loads(out.stdout)


def scalars(logdir, tag):
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={"scalars": 0})
    acc.Reload()
    check(tag in acc.Tags()["scalars"],
          "%s: no scalar %r in %s" % (logdir, tag, acc.Tags()["scalars"]))
    return acc.Scalars(tag)


def main():
    tmp = tempfile.mkdtemp()
    model = os.path.join(tmp, "mlp.pbtxt")
    subprocess.run([os.path.join(BIN_DIR, "examples", "build_mlp_graph"),
                    "--out=" + model, "--inputs=64", "--hidden=32",
                    "--labels=int32"], check=True, stdout=subprocess.DEVNULL)
    epochs = 3
    for scheme, cluster, updates_per_step in [
            ("allreduce", "ps=0,worker=2", 1), ("async-ps", "ps=1,worker=2", 2)]:
        logdir = os.path.join(tmp, scheme)
        result = train(model, logdir, scheme, cluster, epochs)
        files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
        check(len(files) == 1, "%s: event files %s" % (scheme, files))

        loss = scalars(logdir, "loss")
        steps = [e.step for e in loss]
        # Per-worker steps in the JSON for async-ps; every update logged.
        check(len(loss) == result["steps"] * updates_per_step,
              "%s: %d loss points for %d steps" % (scheme, len(loss), result["steps"]))
        check(sorted(steps) == list(range(1, len(loss) + 1)),
              "%s: loss steps %s..." % (scheme, steps[:5]))
        check(all(math.isfinite(e.value) for e in loss), scheme + ": loss not finite")
        walls = [e.wall_time for e in loss]
        check(walls == sorted(walls), scheme + ": wall times fall")
        per_epoch = len(loss) // epochs
        first = sum(e.value for e in loss[:per_epoch]) / per_epoch
        last = sum(e.value for e in loss[-per_epoch:]) / per_epoch
        check(last < first, "%s: loss %f -> %f" % (scheme, first, last))

        accuracy = scalars(logdir, "accuracy")
        check(len(accuracy) == epochs, "%s: %d accuracy points" % (scheme, len(accuracy)))
        check(abs(accuracy[-1].value - result["final"]["accuracy"]) < 1e-5,
              "%s: last accuracy %f, the run's %f" % (
                  scheme, accuracy[-1].value, result["final"]["accuracy"]))
        check(accuracy[-1].step == max(steps), scheme + ": accuracy's step")
        speed = scalars(logdir, "examples_per_second")
        check(len(speed) == epochs and all(e.value > 0 for e in speed),
              scheme + ": examples_per_second")

        # TensorFlow's own reader: the version record, then the same events.
        events = list(tf.compat.v1.train.summary_iterator(files[0]))
        check(events[0].file_version == "brain.Event:2", "file_version")
        tf_loss = [v.simple_value for e in events for v in e.summary.value
                   if v.tag == "loss"]
        check(tf_loss == [e.value for e in loss], scheme + ": TensorFlow reads other values")

    # A second run into a directory: a second file beside the first.
    train(model, os.path.join(tmp, "allreduce"), "allreduce", "ps=0,worker=2", 1)
    files = glob.glob(os.path.join(tmp, "allreduce", "events.out.tfevents.*"))
    check(len(files) == 2, "second run: event files %s" % files)
    print("PASS")


if __name__ == "__main__":
    main()
