"""`rill run --logdir` (SPEC 3) as TensorBoard reads it: the corpus's
summaries graph (a scalar and a histogram merged, written by TensorFlow)
run for 3 steps into a log directory. TensorBoard's EventAccumulator finds
the scalar at steps 1..3 with TensorFlow's value, and the histogram with
TensorFlow's buckets (TensorFlow runs the same graph here for them); a
--logdir without a summary among the fetches is refused.
"""
import os
import subprocess
import tempfile

import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator

from rill_cluster import RILL, ROOT, check

GRAPH = os.path.join(ROOT, "tests", "testdata", "tf_graphs", "summaries.pb")


def tensorflow_summary():
    graph_def = tf.compat.v1.GraphDef()
    with open(GRAPH, "rb") as f:
        graph_def.ParseFromString(f.read())
    g = tf.Graph()
    with g.as_default():
        tf.import_graph_def(graph_def, name="")
        with tf.compat.v1.Session() as sess:
            serialized = sess.run("summary:0")
    summary = tf.compat.v1.Summary()
    summary.ParseFromString(serialized)
    return {v.tag: v for v in summary.value}


def main():
    logdir = tempfile.mkdtemp()
    out = subprocess.run([RILL, "run", GRAPH, "--fetch", "summary", "--steps",
                          "3", "--logdir", logdir],
                         capture_output=True, text=True, timeout=120)
    check(out.returncode == 0, "rill run --logdir: " + out.stderr[-500:])
    want = tensorflow_summary()

    acc = event_accumulator.EventAccumulator(
        logdir, size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    scalar_tags = [t for t, v in want.items() if v.WhichOneof("value") == "simple_value"]
    histo_tags = [t for t, v in want.items() if v.WhichOneof("value") == "histo"]
    check(sorted(acc.Tags()["scalars"]) == sorted(scalar_tags),
          "scalar tags %s, TensorFlow's %s" % (acc.Tags()["scalars"], scalar_tags))
    check(sorted(acc.Tags()["histograms"]) == sorted(histo_tags),
          "histogram tags %s, TensorFlow's %s" % (acc.Tags()["histograms"], histo_tags))
    for tag in scalar_tags:
        events = acc.Scalars(tag)
        check([e.step for e in events] == [1, 2, 3], "%s steps %s" % (tag, events))
        check(all(e.value == want[tag].simple_value for e in events),
              "%s values %s, TensorFlow's %s" % (tag, events, want[tag].simple_value))
    for tag in histo_tags:
        events = acc.Histograms(tag)
        check([e.step for e in events] == [1, 2, 3], "%s steps" % tag)
        h, w = events[-1].histogram_value, want[tag].histo
        check(list(h.bucket_limit) == list(w.bucket_limit) and
              list(h.bucket) == list(w.bucket) and
              (h.min, h.max, h.num, h.sum, h.sum_squares) ==
              (w.min, w.max, w.num, w.sum, w.sum_squares),
              "%s histogram %s, TensorFlow's %s" % (tag, h, w))

    refused = subprocess.run([RILL, "run", GRAPH, "--fetch", "Const",
                              "--logdir", tempfile.mkdtemp()],
                             capture_output=True, text=True, timeout=60)
    check(refused.returncode != 0 and "no --fetch is a summary" in refused.stderr,
          "a --logdir run without summaries: %r" % refused.stderr)
    print("rill run --logdir: TensorBoard reads TensorFlow's scalar and "
          "histogram at steps 1..3")


if __name__ == "__main__":
    main()
