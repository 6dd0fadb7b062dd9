"""The demo task and models every capability is shown on: train it (`wb.launch`), benchmark and
compress it (`wb.bench`, `wb.compress`), publish its numbers (the dashboards).

The task is real data shipped with plotly: which continent a country is on, from its life
expectancy, GDP per capita, population and the year (gapminder, 1,704 rows, 5 classes). Small
enough for a 2-core laptop in seconds, hard enough that a model must learn (chance, the largest
class, is about 37%).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

FEATURES = ("lifeExp", "log_gdpPercap", "log_pop", "year")
LABEL = "continent_id"


@dataclass(frozen=True)
class Task:
    """A classification task split into train and held-out test tensors."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]

    @property
    def chance(self) -> float:
        """Accuracy of always answering the most common class of the test set."""
        return float(torch.bincount(self.y_test).max()) / len(self.y_test)

    def __repr__(self) -> str:
        return (f"Task(train={len(self.y_train)}, test={len(self.y_test)}, "
                f"features={self.x_train.shape[1]}, classes={list(self.classes)}, "
                f"chance={self.chance:.3f})")


def gapminder_frame():
    """plotly's gapminder with the model's columns: the features (log-scaled where they span
    orders of magnitude) and `continent_id`; a pandas DataFrame."""
    import plotly.data

    df = plotly.data.gapminder()
    classes = sorted(df["continent"].unique())
    return df.assign(log_gdpPercap=np.log10(df["gdpPercap"]), log_pop=np.log10(df["pop"]),
                     continent_id=df["continent"].map(classes.index).astype("int64"))


def gapminder_task(seed: int = 0, test_fraction: float = 0.25) -> Task:
    """The demo task: standardised features (train statistics), a seeded random split."""
    df = gapminder_frame()
    classes = tuple(sorted(df["continent"].unique()))
    x = df[list(FEATURES)].to_numpy(np.float32)
    y = df[LABEL].to_numpy(np.int64)
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = int(round(len(df) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    mean, std = x[train].mean(0), x[train].std(0)
    x = (x - mean) / std
    return Task(torch.from_numpy(x[train]), torch.from_numpy(y[train]),
                torch.from_numpy(x[test]), torch.from_numpy(y[test]), classes)


class DemoClassifier(nn.Module):
    """The demo model: a three-layer perceptron."""

    def __init__(self, in_features: int = len(FEATURES), classes: int = 5,
                 hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def federated_classifier() -> nn.Module:
    """The demo task's model for federated runs (``wb.fl.launch(federated_classifier, ...)``):
    it normalises its own raw inputs with a batch-norm layer, whose statistics are averaged like
    the weights, so no client needs the others' means."""
    return nn.Sequential(nn.BatchNorm1d(len(FEATURES)), nn.Linear(len(FEATURES), 32), nn.ReLU(),
                         nn.Linear(32, 5))


class TransformerClassifier(nn.Module):
    """A small encoder of `torch.nn.TransformerEncoderLayer` blocks over a sequence of feature
    vectors (batch, seq, in_features), mean-pooled into class logits: the transformer-block
    model of the training and inference benchmarks."""

    def __init__(self, in_features: int = 32, classes: int = 10, d_model: int = 128,
                 nhead: int = 4, layers: int = 2, dim_feedforward: int = 512,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Linear(in_features, d_model)
        block = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x)).mean(dim=1))

    def flops_per_sample(self, seq_len: int) -> float:
        """Training FLOPs per sample: 6 x the multiply-adds of one forward pass (2 FLOPs each,
        backward twice the forward) in the embedding, attention, feed-forward and head."""
        d = self.embed.out_features
        per_layer = 0
        for layer in self.encoder.layers:
            ff = layer.linear1.out_features
            per_layer += seq_len * (4 * d * d + 2 * d * ff) + 2 * seq_len * seq_len * d
        forward = (seq_len * self.embed.in_features * d + per_layer
                   + d * self.head.out_features)
        return 6.0 * forward


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows whose highest logit is the label."""
    was_training = model.training
    model.eval()
    try:
        return float((model(x).argmax(dim=1) == y).float().mean())
    finally:
        model.train(was_training)


def fit(model: nn.Module, task: Task, *, epochs: int = 60, batch_size: int = 64,
        lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """Train `model` on the task in this process (Adam, cross-entropy): the single-process
    reference that `wb.launch` runs are compared with, and the baseline for distillation."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(task.y_train), generator=gen).split(batch_size):
            opt.zero_grad()
            nn.functional.cross_entropy(model(task.x_train[idx]), task.y_train[idx]).backward()
            opt.step()
    return model.eval()


TRAIN_TABLE = "continents_train"
TEST_TABLE = "continents_test"


def write_continents(lake: Any, seed: int = 0, test_fraction: float = 0.25) -> None:
    """Write the demo task into `lake` as two tables, `continents_train` and `continents_test`
    (the split of `gapminder_task`, raw features: the loader normalises), replacing earlier
    ones. Ingest runs on the current Dask cluster."""
    df = gapminder_frame()[[*FEATURES, LABEL]]
    order = np.random.default_rng(seed).permutation(len(df))
    n_test = int(round(len(df) * test_fraction))
    for name, rows in ((TEST_TABLE, order[:n_test]), (TRAIN_TABLE, order[n_test:])):
        lake.ingest(df.iloc[np.sort(rows)], name, mode="overwrite", progress=False)


def train_continents(lake_uri: str, epochs: int = 30, batch_size: int = 64, lr: float = 3e-3,
                     seed: int = 0) -> dict[str, Any]:
    """The demo training function for `wb.launch`: data-parallel (DDP) training of
    `DemoClassifier` on `continents_train` streamed from the lake, evaluated on
    `continents_test`. Returns the weights (on the CPU), the normalisation and the held-out
    accuracy. DDP comes from `run.ddp`, whose timed all-reduce puts each step's wait for the
    other ranks into ``comm_s``, so the run's utilisation R counts it as transfer; a single
    process without a process group trains the model as it is."""
    import torch.distributed as dist

    import workbench as wb

    run = wb.train.current()
    lake = wb.Lake(lake_uri)
    loader = lake.table(TRAIN_TABLE).to_torch(list(FEATURES), LABEL, batch_size, seed=seed,
                                              drop_last=True)
    torch.manual_seed(seed)
    model = DemoClassifier().to(run.device)
    ddp = run.ddp(model) if dist.is_initialized() else model
    opt = torch.optim.Adam(ddp.parameters(), lr=lr)
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for batch in run.steps(loader, total=epochs * len(loader)):
            batch = run.to_device(batch)
            loss = nn.functional.cross_entropy(ddp(batch["features"]), batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.log(loss=loss.item())
        if run.should_stop():
            break
    model.cpu()  # evaluated and returned on the host, where the caller loads it
    x, y = held_out(lake, loader.mean, loader.std)
    chance = float(torch.bincount(y).max()) / len(y)
    score = accuracy(model, x, y)
    run.log(step=epochs * len(loader), test_accuracy=score)
    return {"state_dict": model.state_dict(), "mean": loader.mean, "std": loader.std,
            "accuracy": score, "chance": chance, "epochs": epoch + 1}


def held_out(lake: Any, mean: Any, std: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The `continents_test` rows as (features, labels) tensors, standardised with the
    training statistics (`mean`, `std`: what the loader used)."""
    from workbench.kernels import standardize

    test = lake.table(TEST_TABLE).to_pandas()
    x = standardize(test[list(FEATURES)].to_numpy(np.float64), mean, std).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(test[LABEL].to_numpy(np.int64, copy=True))
