"""How a federated round trains and combines: `FedAvg`, `FedProx` and `FedAdam`.

A strategy says what each sampled client does (``local_epochs`` passes over its rows in batches
of ``batch_size`` with SGD at ``lr``; `FedProx` adds a proximal term) and how the aggregator
turns the clients' updates into the next global model. Updates are deltas (local weights minus
the global weights the client received) averaged with each client's share of the round's
examples, so FedAvg's server step is ``global + mean_delta`` (McMahan et al. 2017), and FedSGD is
FedAvg with ``local_epochs=1, batch_size=None`` (one full-batch gradient step per round).
`FedAdam` treats the averaged delta as a pseudo-gradient for Adam on the server (Reddi et al.
2021, "Adaptive Federated Optimization", Algorithm 2: no bias correction, ``tau`` the adaptivity).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.fl.errors import FederatedError

if TYPE_CHECKING:
    import torch

__all__ = ["FedAdam", "FedAvg", "FedProx", "Strategy"]


@dataclass
class FedAvg:
    """Federated averaging: each sampled client runs `local_epochs` of SGD (`lr`, batches of
    `batch_size`; None: the whole partition in one batch); a `fraction` of the live clients is
    sampled each round."""

    local_epochs: int = 1
    batch_size: int | None = 32
    lr: float = 0.01
    fraction: float = 1.0

    def __post_init__(self) -> None:
        _whole("local_epochs", self.local_epochs)
        if self.batch_size is not None:
            _whole("batch_size", self.batch_size)
        _positive("lr", self.lr)
        if not isinstance(self.fraction, int | float) or not 0 < self.fraction <= 1:
            raise FederatedError(f"fraction={self.fraction!r}: the share of clients sampled "
                                 "each round, in (0, 1]")

    @property
    def name(self) -> str:
        return type(self).__name__

    def client_config(self) -> dict[str, Any]:
        """What each sampled client is told: its local loop's settings."""
        return {"local_epochs": self.local_epochs, "batch_size": self.batch_size,
                "lr": self.lr, "mu": 0.0}

    def sample_size(self, alive: int, min_clients: int) -> int:
        """How many of `alive` clients a round samples: `fraction` of them, at least
        `min_clients` (Flower's rule), at most all."""
        return min(alive, max(math.ceil(self.fraction * alive), min_clients))

    def step(self, weights: dict[str, torch.Tensor], delta: dict[str, torch.Tensor]
             ) -> dict[str, torch.Tensor]:
        """The next global weights from the round's averaged delta."""
        return {name: weights[name] + delta[name] for name in weights}

    def describe(self) -> dict[str, Any]:
        return {"strategy": self.name, **asdict(self)}


@dataclass
class FedProx(FedAvg):
    """FedAvg whose clients add ``mu / 2 * ||w - w_global||^2`` to their loss (Li et al. 2020):
    local models stay near the global one on non-IID data."""

    mu: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.mu, int | float) or not self.mu >= 0:
            raise FederatedError(f"mu={self.mu!r}: the proximal weight must be >= 0")

    def client_config(self) -> dict[str, Any]:
        return {**super().client_config(), "mu": float(self.mu)}


@dataclass
class FedAdam(FedAvg):
    """FedAvg's clients with Adam on the server: the averaged delta is a pseudo-gradient
    (`server_lr`, `beta1`, `beta2`, `tau` as in Reddi et al. 2021)."""

    server_lr: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3
    _m: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _v: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        _positive("server_lr", self.server_lr)
        _positive("tau", self.tau)
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value < 1:
                raise FederatedError(f"{name}={value!r}: must be in [0, 1)")

    def step(self, weights: dict[str, torch.Tensor], delta: dict[str, torch.Tensor]
             ) -> dict[str, torch.Tensor]:
        import torch

        new = {}
        for name, w in weights.items():
            d = delta[name]
            if not torch.is_floating_point(w):
                new[name] = w + d
                continue
            m = self._m.get(name, torch.zeros_like(w))
            v = self._v.get(name, torch.zeros_like(w))
            m = self.beta1 * m + (1 - self.beta1) * d
            v = self.beta2 * v + (1 - self.beta2) * d * d
            self._m[name], self._v[name] = m, v
            new[name] = w + self.server_lr * m / (v.sqrt() + self.tau)
        return new

    def describe(self) -> dict[str, Any]:
        return {key: value for key, value in super().describe().items()
                if not key.startswith("_")}


Strategy = FedAvg  # every strategy is a FedAvg: the clients' loop is the same


def _whole(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FederatedError(f"{name}={value!r}: give a whole number, at least 1")


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise FederatedError(f"{name}={value!r}: must be a number > 0")
