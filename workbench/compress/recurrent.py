"""`LinearRecurrent`: an LSTM, GRU or RNN rebuilt from ``nn.Linear`` layers, so that torchao's
``quantize_`` (which quantises Linear layers and has no recurrent ones) can make it int8.

Written by hand because no maintained library offers it: torchao has no int8 recurrent layers
and the deprecated ``torch.ao.quantization`` LSTM/GRU are what torch 2.13 tells users to leave.
The equations are torch's own (gate order i, f, g, o for LSTM; r, z, n for GRU), so with float
weights the module gives the original's outputs to float rounding; quantised, each projection is
an int8 matmul. The input projection of a whole sequence is one matmul (all time steps at once);
the hidden projection is one per step, in a Python loop, which is slower than torch's fused
kernels: the point of the int8 variant is size (and CUDA's int8 GEMMs), not CPU speed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class LinearRecurrent(nn.Module):
    """The same computation as ``rnn`` (an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``), in eval mode,
    with its weights in Linear layers: ``ih[k]`` (input to gates), ``hh[k]`` (hidden to gates)
    and, for an LSTM with ``proj_size``, ``hr[k]``; ``k`` = layer * directions + direction."""

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        self.mode = rnn.mode  # "LSTM", "GRU", "RNN_TANH" or "RNN_RELU"
        self.hidden_size = rnn.hidden_size
        self.proj_size = getattr(rnn, "proj_size", 0)
        self.num_layers = rnn.num_layers
        self.directions = 2 if rnn.bidirectional else 1
        self.batch_first = rnn.batch_first
        self.ih, self.hh, self.hr = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                self.ih.append(_linear(rnn, "ih", suffix))
                self.hh.append(_linear(rnn, "hh", suffix))
                if self.proj_size:
                    self.hr.append(_linear(rnn, "hr", suffix, bias=False))

    @property
    def _out(self) -> int:
        return self.proj_size or self.hidden_size

    def forward(self, x: torch.Tensor, hx: Any = None) -> tuple[torch.Tensor, Any]:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"an int8 {self.mode} takes a padded tensor, not "
                            f"{type(x).__name__}: pad the sequences (PackedSequence is for "
                            "torch's fused kernels)")
        unbatched = x.dim() == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        h0, c0 = self._initial(hx, batch, x, unbatched)
        finals_h, finals_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.directions):
                k = layer * self.directions + direction
                c = c0[k] if c0 is not None else None
                out, h, c = self._run(k, x, h0[k], c, reverse=direction == 1, steps=steps)
                outputs.append(out)
                finals_h.append(h)
                finals_c.append(c)
            x = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)
        h_n = torch.stack(finals_h)
        output = x
        if unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
        elif self.batch_first:
            output = output.transpose(0, 1)
        if self.mode != "LSTM":
            return output, h_n
        c_n = torch.stack(finals_c)
        return output, (h_n, c_n.squeeze(1) if unbatched else c_n)

    def _initial(self, hx: Any, batch: int, x: torch.Tensor, unbatched: bool):
        """(h0, c0) as (layers * directions, batch, size) tensors; zeros when not given."""
        n = self.num_layers * self.directions
        if hx is None:
            h0 = x.new_zeros(n, batch, self._out)
            c0 = x.new_zeros(n, batch, self.hidden_size) if self.mode == "LSTM" else None
            return h0, c0
        h0, c0 = hx if self.mode == "LSTM" else (hx, None)
        if unbatched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        return h0, c0

    def _run(self, k: int, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None,
             reverse: bool, steps: int):
        """One layer in one direction over the sequence: (outputs (T, B, out), h_T, c_T)."""
        gates_x = self.ih[k](x)  # every step's input projection in one matmul
        hh = self.hh[k]
        out: list[torch.Tensor] = [x.new_empty(0)] * steps
        for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
            gates_h = hh(h)
            if self.mode == "LSTM":
                i, f, g, o = (gates_x[t] + gates_h).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                if self.proj_size:
                    h = self.hr[k](h)
            elif self.mode == "GRU":
                xr, xz, xn = gates_x[t].chunk(3, dim=1)
                hr, hz, hn = gates_h.chunk(3, dim=1)
                r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                n = torch.tanh(xn + r * hn)
                h = (1 - z) * n + z * h
            else:
                pre = gates_x[t] + gates_h
                h = torch.tanh(pre) if self.mode == "RNN_TANH" else torch.relu(pre)
            out[t] = h
        return torch.stack(out), h, c

    def extra_repr(self) -> str:
        return (f"{self.mode}, hidden_size={self.hidden_size}, num_layers={self.num_layers}, "
                f"directions={self.directions}, batch_first={self.batch_first}"
                + (f", proj_size={self.proj_size}" if self.proj_size else ""))


def _linear(rnn: nn.RNNBase, kind: str, suffix: str, bias: bool = True) -> nn.Linear:
    weight = getattr(rnn, f"weight_{kind}{suffix}")
    b = getattr(rnn, f"bias_{kind}{suffix}", None) if bias and rnn.bias else None
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=b is not None,
                       device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if b is not None:
            linear.bias.copy_(b)
    return linear
