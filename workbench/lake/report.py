"""The result of an ingest: where every input row went."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from workbench.lake.drift import DriftReport


@dataclass(frozen=True)
class IngestReport:
    """Row accounting of one ingest: ``rows_in == rows_written + rows_quarantined +
    duplicates_dropped`` always holds."""

    table: str
    version: int
    rows_in: int
    rows_written: int
    rows_quarantined: int
    duplicates_dropped: int
    bytes_in: int
    seconds: float
    files_written: int = 0
    ingest_id: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    #: The table's schema as this ingest wrote it: what was inferred, or declared.
    schema: pa.Schema | None = None
    #: With ``drift=``: the batch's drift from the version before (None on a first ingest).
    drift: DriftReport | None = None

    def __post_init__(self) -> None:
        accounted = self.rows_written + self.rows_quarantined + self.duplicates_dropped
        if accounted != self.rows_in:  # a bug, never bad input: fail loudly
            raise AssertionError(f"row accounting broken for {self.table}: {self.rows_in} in, "
                                 f"{accounted} accounted for")

    @property
    def mb_per_s(self) -> float:
        return self.bytes_in / 1e6 / self.seconds if self.seconds > 0 else float("nan")

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("table", self.table), ("version", str(self.version)),
                ("rows in", f"{self.rows_in:,}"), ("written", f"{self.rows_written:,}"),
                ("quarantined", f"{self.rows_quarantined:,}"),
                ("duplicates dropped", f"{self.duplicates_dropped:,}"),
                ("input", f"{self.bytes_in / 1e6:,.1f} MB"),
                ("time", f"{self.seconds:.2f} s ({self.mb_per_s:,.1f} MB/s)")]
        rows += [(f"quarantine: {reason}", f"{n:,}") for reason, n in self.reasons.items()]
        if self.drift is not None:
            rows.append(("drift", f"against version {self.drift.reference}: "
                         + (", ".join(self.drift.drifted) or "none")))
        if self.schema is not None:
            rows += [(f"column {f.name}", str(f.type)) for f in self.schema]
        return rows

    def __str__(self) -> str:
        return "\n".join(f"{k:>20}  {v}" for k, v in self._rows())

    def _repr_html_(self) -> str:
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self._rows())
        return f"<table><caption>Ingest into <b>{html.escape(self.table)}</b></caption>" \
               f"{body}</table>"
