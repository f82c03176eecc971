"""`prevsim cluster`: a Dask scheduler and workers that listen on the loopback interface only, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from model.cli import LOOPBACK
from tests.conftest import ROOT

pytest.importorskip("distributed")


def test_cluster_listens_on_loopback_only_and_stops_on_ctrl_c():
    command = [sys.executable, "-m", "model.cli", "cluster", "--workers", "1", "--port", "0", "--dashboard-port", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        line = process.stdout.readline()  # printed once the scheduler and its workers are up
        assert line.startswith(f"Dask scheduler at tcp://{LOOPBACK}:"), line + process.stderr.read()
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        listening = [c.laddr for p in tree for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert len(listening) >= 2 and {address.ip for address in listening} == {LOOPBACK}, listening
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
        sent = time.monotonic()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert time.monotonic() - sent < 10
    _, alive = psutil.wait_procs(tree[1:], timeout=5)  # workers, and the resource tracker that follows them
    assert not alive, f"left running: {alive}"
