"""Who reads which partition: a federated job runs under strace, which records every file each
process opens (or tries to). The aggregator must open no partition at all, and each client only
its own. strace sees the system calls, so a read through pyarrow's C++ or numpy counts too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(300),
              pytest.mark.skipif(shutil.which("strace") is None,
                                 reason="strace is not installed (apt-get install strace)")]

JOB = textwrap.dedent("""
    import json, sys
    import pandas as pd, torch
    from sklearn.datasets import load_digits
    import workbench as wb

    data = load_digits()
    frame = pd.DataFrame(data.data[:300] / 16.0, columns=[f"p{{i}}" for i in range(64)])
    frame["digit"] = data.target[:300]
    parts = wb.fl.partition(frame, clients=3, label="digit", seed=0, path={parts!r})

    def mlp():
        return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, 10))

    job = wb.fl.launch(mlp, parts, rounds=2, test=frame.iloc[:50], runs_lake=None,
                       secure={secure}, strategy=wb.fl.FedAvg(batch_size=32, lr=0.1))
    job.wait(240)
    assert (job.history["completed"] == 3).all(), job.history
    print(json.dumps({{"aggregator": job.pids[0],
                      "clients": dict(zip(map(int, job.clients["client"]),
                                          map(int, job.clients["pid"])))}}))
""")


def opened(trace: Path) -> set[str]:
    """Every path a process opened or tried to open, from its strace log."""
    return set(re.findall(r'open(?:at)?\([^"]*"([^"]+)"', trace.read_text(errors="replace")))


def test_the_aggregator_opens_no_partition_and_each_client_only_its_own(tmp_path):
    # With secure aggregation on: the path with the most messages (keys, masked updates); the
    # files the processes open are the same without it.
    parts = tmp_path / "parts"
    script = JOB.format(parts=str(parts), secure=True)
    result = subprocess.run(
        ["strace", "-f", "-ff", "-qq", "-e", "trace=open,openat,openat2",
         "-o", str(tmp_path / "trace"), sys.executable, "-c", script],
        capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stderr[-3000:]
    pids = json.loads(result.stdout.strip().splitlines()[-1])
    partitions = {i: str(parts / f"client-{i:03d}.parquet") for i in range(3)}

    aggregator = opened(tmp_path / f"trace.{pids['aggregator']}")
    assert aggregator, "no trace of the aggregator"
    assert not aggregator & set(partitions.values()), "the aggregator opened a partition"
    assert not [path for path in aggregator if path.startswith(str(parts))]
    for client, pid in pids["clients"].items():
        files = opened(tmp_path / f"trace.{pid}")
        own = partitions[int(client)]
        assert own in files, f"client {client} never read its partition"
        others = set(partitions.values()) - {own}
        assert not files & others, f"client {client} opened another client's partition"
