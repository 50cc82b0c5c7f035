"""The deployment recipes of deploy/ (docs/deploy.md), checked without a
cluster:

1. deploy/k8s/rill-cluster.yaml parses (PyYAML); every job is a
   StatefulSet with a headless Service of its name selecting its pods,
   parallel pod start, a `rill health` readiness probe, and as many
   replicas as the cluster spec has addresses for the job, each address
   the pod's stable DNS name.
2. Its start script, run as pod rill-worker-1 would run it, makes a
   TF_CONFIG for task worker/1 of that cluster; the flags it gives
   `rill server` are real: a server started with them (on loopback)
   serves, and `rill health` with the token gets an answer.
3. deploy/slurm/rill.sbatch is valid bash and builds the cluster spec
   from the allocation's node list (scontrol faked).
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import yaml

from rill_cluster import RILL, ROOT, check, free_port

K8S = os.path.join(ROOT, "deploy", "k8s", "rill-cluster.yaml")
SLURM = os.path.join(ROOT, "deploy", "slurm", "rill.sbatch")


def fake_program(folder, name, body):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)


def check_kubernetes(tmp):
    docs = [d for d in yaml.safe_load_all(open(K8S)) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    config = by_kind["ConfigMap"][0]["data"]
    cluster = json.loads(config["cluster.json"])
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    sets = by_kind["StatefulSet"]
    check(sorted(s["spec"]["template"]["metadata"]["labels"]["job"] for s in sets)
          == sorted(cluster), "a StatefulSet per job of the cluster spec")
    for s in sets:
        name, spec = s["metadata"]["name"], s["spec"]
        labels = spec["template"]["metadata"]["labels"]
        job = labels["job"]
        service = services.get(spec["serviceName"])
        check(service is not None, name + ": its headless Service exists")
        check(service["spec"].get("clusterIP") == "None", name + ": headless")
        check(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()),
              name + ": the Service selects its pods")
        check(spec["selector"]["matchLabels"] == {k: labels[k] for k in spec["selector"]["matchLabels"]},
              name + ": the selector matches the pod labels")
        check(spec.get("podManagementPolicy") == "Parallel", name + ": parallel start")
        check(spec["replicas"] == len(cluster[job]),
              "%s: %d replicas for %d addresses" % (name, spec["replicas"], len(cluster[job])))
        for i, address in enumerate(cluster[job]):
            check(address == "%s-%d.%s:2222" % (name, i, spec["serviceName"]),
                  "%s: task %d's address %s is its pod's DNS name" % (name, i, address))
        container = spec["template"]["spec"]["containers"][0]
        check(container["command"][-1] == job, name + ": the start script gets its job")
        probe = container["readinessProbe"]["exec"]["command"]
        check(probe[:2] == ["rill", "health"], name + ": probed with rill health")
    # The start script as pod rill-worker-1 runs it, with `rill` faked to
    # show what it would start.
    script = config["start.sh"].replace("/etc/rill/cluster.json",
                                        os.path.join(tmp, "cluster.json"))
    with open(os.path.join(tmp, "cluster.json"), "w") as f:
        f.write(config["cluster.json"])
    with open(os.path.join(tmp, "start.sh"), "w") as f:
        f.write(script)
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    fake_program(bin_dir, "rill", 'printf "%s\\n" "$TF_CONFIG"; printf "%s\\n" "$@"\n')
    out = subprocess.run(["/bin/sh", os.path.join(tmp, "start.sh"), "worker"],
                         env={"PATH": bin_dir + ":/usr/bin:/bin", "HOSTNAME": "rill-worker-1"},
                         capture_output=True, text=True, check=True).stdout.splitlines()
    tf_config = json.loads(out[0])
    check(tf_config["task"] == {"type": "worker", "index": 1}, "TF_CONFIG task: %s" % out[0])
    check(tf_config["cluster"] == cluster, "TF_CONFIG cluster")
    args = out[1:]
    check(args[0] == "server", "the script starts rill server: %s" % args)
    # The same flags on a real server, its files and token moved here.
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("k8s-test-token\n")
    real = []
    for a in args[1:]:
        real.append({"/etc/rill-auth/token": token, "/data": tmp}.get(a, a))
    port = free_port()
    env = dict(os.environ, TF_CONFIG=json.dumps(
        {"cluster": {"worker": ["127.0.0.1:%d" % port]}, "task": {"type": "worker", "index": 0}}))
    server = subprocess.Popen([RILL, "server"] + real, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        probe = [RILL, "health", "grpc://localhost:%d" % port, "--timeout", "10",
                 "--auth_token_file", token]
        got = subprocess.run(probe, capture_output=True, text=True)
        check(got.returncode == 0, "the readiness probe on a server with the recipe's flags: "
              + got.stderr)
        refused = subprocess.run(probe[:-2], capture_output=True, text=True)
        check(refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr,
              "a probe without the token is refused: " + refused.stderr)
    finally:
        server.terminate()
        server.wait(timeout=20)


def check_slurm(tmp):
    subprocess.run(["bash", "-n", SLURM], check=True)
    bin_dir = os.path.join(tmp, "slurm_bin")
    os.makedirs(bin_dir)
    fake_program(bin_dir, "scontrol",
                 '[ "$1 $2" = "show hostnames" ] && [ "$3" = "node[1-3]" ] && '
                 'printf "node1\\nnode2\\nnode3\\n"\n')
    out = subprocess.run(
        ["bash", SLURM], capture_output=True, text=True, check=True,
        env={"PATH": bin_dir + ":/usr/bin:/bin", "SLURM_JOB_NODELIST": "node[1-3]",
             "SLURM_JOB_ID": "7", "RILL_PRINT_CLUSTER_ONLY": "1"}).stdout
    cluster = json.loads(out)
    check(cluster == {"ps": ["node1:2222"],
                      "worker": ["node1:2223", "node2:2223", "node3:2223"]},
          "the Slurm cluster spec: %s" % out)


def main():
    tmp = tempfile.mkdtemp()
    try:
        check_kubernetes(tmp)
        check_slurm(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("deploy recipes: all checks passed")


if __name__ == "__main__":
    main()
