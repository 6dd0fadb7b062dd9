"""`CompressionReport`: what a compression step did, attached to the model it returned."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class CompressionReport:
    """The variant a compression made ("int8", "pruned", "student"), how (`method`), one line
    of `summary`, and the `details` table (per layer for quantise and prune, per epoch for
    distil). `model.compression_report` holds it; `wb.bench` and `compare` read the variant."""

    variant: str
    method: str
    summary: str
    details: pd.DataFrame
    figures: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"CompressionReport({self.variant}: {self.summary})\n"
                + self.details.to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p><b>{html.escape(self.variant)}</b> ({html.escape(self.method)}): "
                f"{html.escape(self.summary)}</p>"
                + self.details.to_html(index=False, border=0,
                                       float_format=lambda v: f"{v:.4g}"))
