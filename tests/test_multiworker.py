"""Every family's train step under MultiWorkerMirroredStrategy: two worker processes on loopback."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

import kerasgen as kg
from multiworker_worker import RUNS

HERE = os.path.dirname(os.path.abspath(__file__))


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports

@pytest.mark.slow

def test_two_workers_train_every_family_in_lockstep(tmp_path):
    workers = [f"localhost:{port}" for port in free_ports(2)]
    out = str(tmp_path / "runs")
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                      "task": {"type": "worker", "index": index}}),
               "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")])}
        procs.append(subprocess.Popen([sys.executable, os.path.join(HERE, "multiworker_worker.py"), out], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for proc in procs:
        try:
            logs.append(proc.communicate(timeout=600)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("the workers did not finish in 10 minutes")
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    for preset, _, _ in RUNS:
        chief, other = os.path.join(out, preset), os.path.join(out, preset, ".worker-1")
        with open(os.path.join(chief, "run.json")) as f:
            assert json.load(f)["replicas"] == 2
        histories = []
        for folder in (chief, other):
            with open(os.path.join(folder, "history.json")) as f:
                histories.append(json.load(f))
        assert histories[0].keys() == histories[1].keys() and histories[0]
        for key in histories[0]:  # metrics are averaged over both workers' replicas
            np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-5, err_msg=f"{preset} {key}")
            assert np.isfinite(histories[0][key]).all()
        models = [kg.models.load(os.path.join(folder, "model.keras")) for folder in (chief, other)]
        trained = [m.trainable_weights for m in models]
        assert len(trained[0]) == len(trained[1]) > 0
        for a, b in zip(*trained):  # all-reduced gradients: the same weights on both workers
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=f"{preset} {a.path}")
        # (batch-norm moving statistics are updated from each worker's own examples, as in Keras)
