"""Two real workers: MultiWorkerMirroredStrategy over two processes on loopback, each with one
CPU device (tests/two_workers.py is the process). Every process runs under a timeout and is
killed when it runs over, so that a hanging collective op fails the test instead of hanging it.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "two_workers.py")
TIMEOUT = 300  # seconds, per process


def free_ports(count: int) -> str:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return ",".join(str(s.getsockname()[1]) for s in sockets)
    finally:
        for s in sockets:
            s.close()


def start(mode: str, out, ports: str, index: int, *extra) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    log = open(os.path.join(out, f"{mode}{index}.log"), "w")
    return subprocess.Popen([sys.executable, SCRIPT, mode, str(out), ports, str(index), *extra],
                            stdout=log, stderr=subprocess.STDOUT, env=env, text=True)


def finish(processes, timeout: float = TIMEOUT) -> list[int]:
    """Wait for every process until ``timeout`` (shared); kill any still running."""
    end = time.monotonic() + timeout
    codes = []
    for p in processes:
        try:
            codes.append(p.wait(max(1.0, end - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(None)
    for p in processes:
        if p.poll() is None:
            p.kill()
            p.wait(30)
    return codes


def log_of(out, name: str) -> str:
    with open(os.path.join(out, name + ".log")) as f:
        return "\n".join(line for line in f.read().splitlines() if "PredictCost" not in line)


def weights(path: str) -> dict:
    import h5py

    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, item: found.__setitem__(name, item[()])
                     if isinstance(item, h5py.Dataset) else None)
    return found


def result(out, name: str) -> dict:
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)


def run_pair(mode: str, out, ports: str, *extra) -> None:
    codes = finish([start(mode, out, ports, i, *extra) for i in (0, 1)])
    for i, code in enumerate(codes):
        assert code == 0, f"{mode} {i} exited with {code}:\n{log_of(out, f'{mode}{i}')[-3000:]}"


@pytest.mark.slow
def test_two_workers_match_one_process(tmp_path):
    """Three steps of a global batch of 2 images: two workers (one image each) against one
    process with two logical CPU devices (one image each), from the same initial weights.
    Step 1's loss agrees to 1e-5 (relative; measured 1e-7); the later ones drift by float
    rounding (the all-reduce sums in another order), and once the weights differ in the last
    bits the ROI sampling can pick other ROIs, so they agree within 25 % only (measured 0.05 %
    and 1.3 % in one run, 0.4 % and 14 % in another); the trained weights differ from the
    single process's by under 30 % of the update (measured 0.24 % and 13 %) and are
    identical, bit for bit, on the two workers."""
    codes = finish([start("single", tmp_path, "0,0", 0)])
    assert codes == [0], log_of(tmp_path, "single0")[-3000:]
    run_pair("worker", tmp_path, free_ports(2))
    single, workers = result(tmp_path, "single"), [result(tmp_path, f"worker{i}") for i in (0, 1)]
    assert workers[0]["loss"] == workers[1]["loss"]
    for worker in workers:
        assert worker["epochs"] == [1, 2, 3] and worker["end"] == 3
        assert os.path.basename(worker["last"]) == "mask_rcnn_tiny_0003.h5"
    got, want = np.array(workers[0]["loss"]), np.array(single["loss"])
    assert abs(got[0] - want[0]) <= 1e-5 * want[0], (got, want)
    print("losses, two workers / one process:", got, want)
    assert np.all(np.abs(got - want) <= 0.25 * want), (got, want)
    first, second = weights(str(tmp_path / "worker0.h5")), weights(str(tmp_path / "worker1.h5"))
    alone, start_ = weights(str(tmp_path / "single.h5")), weights(str(tmp_path / "init.h5"))
    assert first.keys() == second.keys() == alone.keys() and len(first) > 100
    assert all(np.array_equal(first[k], second[k]) for k in first)
    names = [k for k in first if first[k].dtype.kind == "f"]
    gap = np.sqrt(sum(np.sum((first[k] - alone[k]) ** 2) for k in names))
    update = np.sqrt(sum(np.sum((alone[k] - start_[k]) ** 2) for k in names))
    print(f"weights: gap {gap:.3g}, update {update:.3g}")
    assert update > 0 and gap <= 0.30 * update, (gap, update)


@pytest.mark.slow
def test_killed_worker_stops_the_other_with_our_error_and_both_resume(tmp_path):
    """Worker 1 is killed (SIGKILL) after the workers have written checkpoint 2: worker 0
    stops (it does not hang) with WorkerLostError naming itself, the lost worker, its last
    checkpoint and how to resume. Both restarted from worker 0's last checkpoint go on at
    the next epoch and write its checkpoint."""
    init = finish([start("single", tmp_path, "0,0", 0)])  # writes init.h5
    assert init == [0], log_of(tmp_path, "single0")[-3000:]
    ports = free_ports(2)
    workers = [start("long", tmp_path, ports, i) for i in (0, 1)]
    try:
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and not any(
                f.endswith("_0002.h5") for _, _, files in os.walk(tmp_path / "long1")
                for f in files):
            assert workers[0].poll() is None and workers[1].poll() is None, \
                log_of(tmp_path, "long0")[-3000:]
            time.sleep(0.5)
        workers[1].send_signal(signal.SIGKILL)
        codes = finish(workers, timeout=180)
    finally:
        finish(workers, timeout=1)
    assert codes[0] not in (0, None), codes  # exited by itself, with an error
    log = log_of(tmp_path, "long0")
    assert "WorkerLostError" in log, log[-3000:]
    message = log[log.index("WorkerLostError"):]
    assert "worker 0 of 2 lost" in message and "same TF_CONFIG" in message, message[:2000]
    assert "last checkpoint of this worker is" in message, message[:2000]
    found = sorted(os.path.join(d, f) for d, _, files in os.walk(tmp_path / "long0")
                   for f in files if f.endswith(".h5"))
    last = found[-1]
    epoch = int(os.path.basename(last)[-7:-3])
    assert epoch >= 2 and last in message
    run_pair("resume", tmp_path, free_ports(2), last)
    for i in (0, 1):
        resumed = result(tmp_path, f"resume{i}")
        assert resumed["start"] == epoch and resumed["epochs"] == [epoch + 1]
        assert os.path.basename(resumed["last"]) == f"mask_rcnn_tiny_{epoch + 1:04d}.h5"
