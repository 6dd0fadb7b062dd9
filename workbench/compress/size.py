"""A model's size on disk: the bytes ``torch.save`` writes for its state dict."""

from __future__ import annotations

import io
import math
from typing import Any


def size_mb(model: Any) -> float:
    """Size on disk in MB (1e6 bytes): what ``torch.save(model.state_dict())`` writes; NaN for
    a plain callable."""
    import torch

    if not isinstance(model, torch.nn.Module):
        return math.nan
    return state_dict_bytes(model) / 1e6


def state_dict_bytes(model: Any) -> int:
    """The bytes ``torch.save(model.state_dict())`` writes."""
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
