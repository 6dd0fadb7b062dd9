"""Differential privacy for a federated job: `DP` settings and the accountant that spends them.

Two levels, as the literature splits them:

- ``level="client"``: DP-FedAvg (McMahan et al. 2018). Each client clips its update to L2 norm
  ``clip``; the aggregator averages the updates uniformly and adds Gaussian noise of standard
  deviation ``noise * clip / m`` (``m`` updates). One round is one step of the subsampled
  Gaussian mechanism with sampling rate ``m / clients``: a whole client's data is protected.
- ``level="sample"``: DP-SGD (Abadi et al. 2016) in every client with Opacus: per-example
  gradients clipped to ``clip``, noise ``noise * clip`` per batch, Poisson batches of rate
  ``batch_size / rows``. Each client's records are protected; epsilon is the largest over the
  clients.

Both are accounted with Opacus' RDP accountant, each round, on the aggregator (which knows the
sampling rates and steps). With ``noise=None`` the noise multiplier is the smallest that keeps
`rounds` rounds within ``epsilon`` (Opacus' ``get_noise_multiplier``); with a given ``noise``
the job stops before the round that would spend more than ``epsilon``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.fl.errors import FederatedError

if TYPE_CHECKING:
    import torch

LEVELS = ("client", "sample")
# Opacus' default RDP orders stop at 63; few rounds with much noise are tightest at higher ones.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 128, 256, 512]


@dataclass(frozen=True)
class DP:
    """A privacy budget (`epsilon`, `delta`), the clipping norm and the noise multiplier (None:
    derived from the budget), at client or sample `level` (see the module)."""

    epsilon: float
    delta: float = 1e-5
    clip: float = 1.0
    noise: float | None = None
    level: str = "client"

    def __post_init__(self) -> None:
        for name in ("epsilon", "clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 \
                    or not math.isfinite(value):
                raise FederatedError(f"DP({name}={value!r}): must be a finite number > 0")
        if not isinstance(self.delta, int | float) or not 0 < self.delta < 1:
            raise FederatedError(f"DP(delta={self.delta!r}): must be in (0, 1), typically "
                                 "below 1 / rows")
        if self.noise is not None and (not isinstance(self.noise, int | float)
                                       or not self.noise > 0):
            raise FederatedError(f"DP(noise={self.noise!r}): the noise multiplier must be > 0, "
                                 "or None to derive it from epsilon")
        if self.level not in LEVELS:
            raise FederatedError(f"DP(level={self.level!r}): give one of {list(LEVELS)}")


class Accountant:
    """Epsilon spent so far, and whether a round fits the budget. `rates[i]`/`steps[i]` are
    client i's sampling rate and steps per round it takes part in (client level: the round's
    sampling rate and 1 step, the same for everyone, counted every round)."""

    def __init__(self, dp: DP, noise: float, rates: dict[int, float],
                 steps: dict[int, int]) -> None:
        self.dp = dp
        self.noise = noise
        self.rates = rates
        self.steps = steps
        self.taken = dict.fromkeys(rates, 0)  # steps each client's data has been through

    @property
    def epsilon(self) -> float:
        """The epsilon spent so far (0 before the first round)."""
        return max((self._spent(i, n) for i, n in self.taken.items()), default=0.0)

    def after(self, sampled: list[int]) -> float:
        """The epsilon spent once a round with `sampled` clients is done."""
        if self.dp.level == "client":
            return max(self._spent(i, n + self.steps[i]) for i, n in self.taken.items())
        return max(self._spent(i, n + (self.steps[i] if i in sampled else 0))
                   for i, n in self.taken.items())

    def spend(self, sampled: list[int]) -> None:
        for i in self.taken:
            if self.dp.level == "client" or i in sampled:
                self.taken[i] += self.steps[i]

    def _spent(self, client: int, steps: int) -> float:
        from opacus.accountants import RDPAccountant

        if steps == 0:
            return 0.0
        accountant = RDPAccountant()
        accountant.history = [(self.noise, self.rates[client], steps)]
        with warnings.catch_warnings():  # the bound at the largest order is still a bound
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
            return float(accountant.get_epsilon(self.dp.delta, alphas=ALPHAS))


def plan(dp: DP, rounds: int, clients: int, sampled: int, rows: list[int],
         config: dict[str, Any]) -> Accountant:
    """The accountant for a job: sampling rates and steps per client, and the noise multiplier
    (`dp.noise`, or the smallest that spends at most `dp.epsilon` in `rounds` rounds)."""
    from opacus.accountants.utils import get_noise_multiplier

    if dp.level == "client":
        rates = dict.fromkeys(range(clients), sampled / clients)
        steps = dict.fromkeys(range(clients), 1)
    else:
        rates, steps = {}, {}
        for i, n in enumerate(rows):
            batch = min(config["batch_size"] or n, n)
            rates[i] = batch / n
            steps[i] = config["local_epochs"] * math.ceil(n / batch)
    noise = dp.noise
    if noise is None:
        noise = max(get_noise_multiplier(target_epsilon=dp.epsilon, target_delta=dp.delta,
                                         sample_rate=rates[i], steps=rounds * steps[i],
                                         accountant="rdp", alphas=ALPHAS)
                    for i in range(clients))
    return Accountant(dp, float(noise), rates, steps)


def clip_update(delta: dict[str, torch.Tensor], bound: float) -> dict[str, torch.Tensor]:
    """The update scaled to L2 norm at most `bound` over all its float tensors."""
    import torch

    floats = [t for t in delta.values() if torch.is_floating_point(t)]
    norm = float(torch.sqrt(sum((t.double() ** 2).sum() for t in floats))) if floats else 0.0
    scale = min(1.0, bound / norm) if norm > 0 else 1.0
    return {n: t * scale if torch.is_floating_point(t) else t for n, t in delta.items()}
