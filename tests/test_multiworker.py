"""Training under MultiWorkerMirroredStrategy: two worker processes on loopback, a GAN, a VAE, pix2pix and a
CycleGAN in lockstep,
and a flow killed and restarted from its checkpoints."""

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

def test_two_workers_train_a_gan_and_a_vae_in_lockstep(tmp_path):
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


def _start_workers(workers, argv):
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                                      "task": {"type": "worker", "index": index}}),
               "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
        procs.append(subprocess.Popen([sys.executable, "-m", "kerasgen", *argv], env=env, cwd=os.path.dirname(HERE),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs


@pytest.mark.slow
def test_a_killed_worker_and_a_restart_resume_both_workers_from_the_last_checkpoint(tmp_path):
    # rejects: a restart that begins again at epoch 0 (or on each worker from its own, different
    # checkpoint), a lost epoch count, non-finite or diverging weights after the restart
    import signal
    import time

    from kerasgen.callbacks.checkpoint import complete_checkpoints

    out = str(tmp_path / "run")
    argv = ["train", "realnvp", "--data", "toy2d:moons", "--n-samples", "2048", "--batch-size", "128",
            "--epochs", "3", "--seed", "2", "--out", out, "--strategy", "multiworker", "--checkpoint-every", "4",
            "--quiet"]
    procs = _start_workers([f"localhost:{p}" for p in free_ports(2)], argv)
    deadline = time.monotonic() + 300
    while not [c for c in complete_checkpoints(os.path.join(out, "checkpoints")) if c[:2] >= (1, 4)]:
        assert time.monotonic() < deadline, "no checkpoint inside the second epoch within 5 minutes"
        assert all(p.poll() is None for p in procs), procs[0].communicate()[0][-3000:]
        time.sleep(0.2)
    procs[1].send_signal(signal.SIGKILL)  # a worker dies inside epoch 2; its peer cannot go on
    time.sleep(1.0)
    procs[0].kill()
    for p in procs:
        p.wait()
    killed_at = complete_checkpoints(os.path.join(out, "checkpoints"))[-1][:2]
    assert killed_at < (3, 0) and not os.path.exists(os.path.join(out, "model.keras"))
    procs = _start_workers([f"localhost:{p}" for p in free_ports(2)], argv + ["--resume"])
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for p, log in zip(procs, logs):
        assert p.returncode == 0, log[-3000:]
    histories, weights = [], []
    for folder in (out, os.path.join(out, ".worker-1")):
        with open(os.path.join(folder, "history.json")) as f:
            histories.append(json.load(f))
        weights.append([np.asarray(w) for w in kg.models.load(os.path.join(folder, "model.keras")).trainable_weights])
    assert len(histories[0]["nll"]) == 3 and np.isfinite(histories[0]["nll"]).all()
    np.testing.assert_allclose(histories[0]["nll"], histories[1]["nll"], rtol=1e-5)
    for a, b in zip(*weights):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
