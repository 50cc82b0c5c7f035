#!/usr/bin/env bash
# TensorFlow-written graphs (tests/testdata/tf_graphs) through `rill run`,
# each compared with TensorFlow's saved results (tf_graphs_test.py).
set -uo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/tf_graphs_test.py" "$1" \
  tests/testdata/tf_graphs
