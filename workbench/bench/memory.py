"""Peak memory of a block of work on the CPU: this process's resident set sampled by a thread,
its largest rise over where it started. (The kernel keeps only a lifetime peak, ru_maxrss,
which a block of work cannot be told from; sampling every few milliseconds can miss a spike
shorter than that, so the figure is a lower bound.)"""

from __future__ import annotations

import threading
from typing import Any

SAMPLE_S = 0.005


class PeakRss:
    """``with PeakRss() as peak: ...``; then ``peak.mb``: the largest resident-set rise over the
    block, in MB (1e6 bytes)."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self._stop = threading.Event()
        self._start = self._peak = 0
        self.mb = float("nan")

    def __enter__(self) -> PeakRss:
        self._start = self._peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)
        self.mb = (self._peak - self._start) / 1e6

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self._peak = max(self._peak, self._process.memory_info().rss)
