"""`lake.ingest` from a plain script, as a first script is written (issue 13): without an
``if __name__ == "__main__":`` guard it used to hang for ever, every Dask worker re-running the
script's top level, and left worker processes behind.

Each script runs in its own interpreter with a marker in its environment, which every process
it starts inherits (the cluster's own process, its workers, multiprocessing's helpers), even
once re-parented to init: after the script, no running process may carry the marker."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import uuid

import psutil
import pytest

import workbench as wb

MARK = "WORKBENCH_TEST_SCRIPT_MARK"
ROWS = [(1, "x"), (2, "y"), (3, "z")]
INGEST = 'report = wb.Lake("lake").ingest("data.csv", "events", progress=False)\n' \
         'print("rows written", report.rows_written, flush=True)\n'
SCRIPTS = {
    "unguarded": "import workbench as wb\n" + INGEST,
    "guarded": "import workbench as wb\n\nif __name__ == '__main__':\n"
               + "".join(f"    {line}\n" for line in INGEST.splitlines()),
}


@pytest.fixture
def marked_env(tmp_path):
    """The script's environment: a private WORKBENCH_HOME and this test's marker. Whatever
    still carries the marker at teardown (after a failed assertion) is killed."""
    mark = uuid.uuid4().hex
    (tmp_path / "data.csv").write_text("id,name\n" + "".join(f"{i},{n}\n" for i, n in ROWS))
    yield mark, {**os.environ, "WORKBENCH_HOME": str(tmp_path / "home"), MARK: mark}
    for proc in marked(mark):
        proc.kill()


def marked(mark: str) -> list[psutil.Process]:
    """The running processes whose environment carries ``mark``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if proc.environ().get(MARK) == mark:
                found.append(proc)
        except psutil.Error:
            continue  # gone meanwhile, a zombie (exited), or another user's: not a leftover
    return found


def described(procs: list[psutil.Process]) -> list[str]:
    """pid and command line of each, as found (for assertion messages)."""
    return [f"{p.pid} {' '.join(p.info['cmdline'] or [])}" for p in procs]


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_a_script_ingests_and_leaves_no_process_behind(kind, marked_env, tmp_path):
    mark, env = marked_env
    (tmp_path / "script.py").write_text(SCRIPTS[kind])
    start = time.monotonic()
    done = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    # Once: the workers no longer run the script's top level again.
    assert done.stdout.splitlines() == ["rows written 3"], done.stdout
    assert described(marked(mark)) == []
    rows = wb.Lake(tmp_path / "lake").table("events").to_pandas()
    assert sorted(zip(rows["id"], rows["name"])) == ROWS
    assert elapsed < 60


def test_a_killed_script_leaves_no_process_behind(marked_env, tmp_path):
    """SIGKILL runs no exit hook: the cluster's process sees its stdin close and ends it all."""
    mark, env = marked_env
    (tmp_path / "script.py").write_text(
        "import time\nimport workbench as wb\n"
        "wb.cluster(n_workers=2, threads_per_worker=1, gpu=False)\n"
        "print('ready', flush=True)\ntime.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "script.py"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        readable, _, _ = select.select([proc.stdout], [], [], 60)
        assert readable and proc.stdout.readline().strip() == "ready"
        # The script, the cluster's process and its two workers, at least.
        assert len(marked(mark)) >= 4
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    deadline = time.monotonic() + 15
    while (left := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert described(left) == []
