"""What a view of a training run reads, through one interface: a live `Job` (`LiveJob`) or a
run directory after the fact (`Replay`): status, records, GPU samples, the failure, Stop."""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from workbench.train.launcher import Job

__all__ = ["Failure", "LiveJob", "Replay", "open_run"]

JOB_FILE = "job.json"  # as `workbench.train.launcher.JOB_FILE`, without importing torch's side
_ERROR_FILE = re.compile(r"error-rank(\d+)\.json")


@dataclass(frozen=True)
class Failure:
    """Why a run failed: the rank that failed first, a one-line headline (rank and exit) and
    that rank's traceback (empty when the process died without writing one)."""

    rank: int
    headline: str
    traceback: str


class LiveJob:
    """Reads a running (or ended) `Job`."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.run_dir = Path(job.run_dir)
        self.name, self.backend, self.device = job.name, job.backend, job.device
        self.nprocs: int | None = job.nprocs
        self.live = True

    def status(self) -> str:
        return self.job.status

    def record_count(self) -> int | None:
        """Records received so far, read without building a frame (`Job.records`); None for a
        job-like object without it (then every poll reads the metrics)."""
        return getattr(self.job, "records", None)

    def metrics(self) -> pd.DataFrame:
        return self.job.metrics

    def gpu(self) -> pd.DataFrame:
        return self.job.gpu

    def gpu_count(self) -> int:
        """GPU samples so far, without a frame where the job can say (`Job.gpu_samples`)."""
        count = getattr(self.job, "gpu_samples", None)
        return len(self.job.gpu) if count is None else count

    def failure(self) -> Failure | None:
        err = self.job.error
        if err is None:
            return None
        return Failure(err.rank, str(err).splitlines()[0].rstrip(":"), err.traceback)

    def stop(self) -> None:
        self.job.stop()


class Replay:
    """Reads a run directory after the fact: `read_run` and `job.json` (status, error)."""

    def __init__(self, run_dir: Path) -> None:
        from workbench.train.metrics import read_run

        self.run_dir = run_dir
        self._metrics = read_run(run_dir)  # raises FileNotFoundError naming a missing dir
        path = run_dir / JOB_FILE
        self.info: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self.name = str(self.info.get("name", run_dir.name))
        self.backend = str(self.info.get("backend", "?"))
        self.device = str(self.info.get("device", "?"))
        nprocs = self.info.get("nprocs")
        self.nprocs = int(nprocs) if nprocs is not None else (
            int(self._metrics["rank"].nunique()) or None)
        self.live = False

    def status(self) -> str:
        """As `wb.runs()` reads it (a "running" run whose launcher died is "stopped"), else what
        `job.json` says (a directory given without one: "unknown")."""
        from workbench.train.runs import runs

        listed = runs(self.run_dir.parent)
        found = listed.loc[listed["id"] == self.run_dir.name, "status"]
        return str(found.iloc[0]) if len(found) else str(self.info.get("status", "unknown"))

    def record_count(self) -> int:
        return len(self._metrics)

    def metrics(self) -> pd.DataFrame:
        return self._metrics

    def gpu(self) -> pd.DataFrame:
        import pandas as pd

        from workbench.compute.gpus import GpuSampler

        return pd.DataFrame(columns=list(GpuSampler.COLUMNS))  # not kept on disk

    def gpu_count(self) -> int:
        return 0

    def failure(self) -> Failure | None:
        """The first rank to fail, from the error files the ranks left (as the launcher picks
        it), with the headline `job.json` recorded."""
        reports = []
        for path in self.run_dir.iterdir():
            match = _ERROR_FILE.fullmatch(path.name)
            if match:
                report = json.loads(path.read_text())
                reports.append((report.get("time", math.inf), int(match.group(1)), report))
        text = str(self.info.get("error") or "")
        if not reports and not text:
            return None
        if reports:
            _, rank, report = min(reports, key=lambda item: item[:2])
            traceback = str(report.get("traceback", ""))
        else:
            found = re.match(r"rank (\d+)", text)
            rank = int(found.group(1)) if found else -1
            traceback = text.partition("\n")[2]
        headline = text.splitlines()[0].rstrip(":") if text else f"rank {rank} failed"
        return Failure(rank, headline, traceback)

    def stop(self) -> None:
        raise RuntimeError(f"{self.run_dir} is a replay: there is no job to stop")


def open_run(job: Job | str | os.PathLike[str]) -> LiveJob | Replay:
    """The source of `job`: a live `Job`, or the replay of a run directory given as a path."""
    return Replay(Path(job)) if isinstance(job, (str, os.PathLike)) else LiveJob(job)
