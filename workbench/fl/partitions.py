"""`partition`: a table cut into one part per federated client, each written where that client,
and only it, reads it (one Parquet file per client under the run directory).

Schemes, as the federated learning literature uses them:

- ``"iid"``: rows shuffled and dealt out in near-equal parts;
- ``"dirichlet"``: for each label, the clients' shares drawn from Dirichlet(``alpha``) (Hsu et
  al. 2019): a small ``alpha`` gives each client few labels, a large one approaches IID;
- ``"shards"``: rows sorted by label, cut into ``clients * shards_per_client`` equal shards, and
  each client dealt ``shards_per_client`` of them at random (McMahan et al. 2017): each client
  sees about that many labels.

The same data, scheme and ``seed`` give the same parts.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.display import show, view
from workbench.fl.errors import FederatedError
from workbench.home import new_run_dir

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SCHEMES = ("iid", "dirichlet", "shards")
#: Dirichlet draws tried, in the seed's sequence, for one that leaves no client empty.
DIRICHLET_TRIES = 100


class Partitions:
    """A table's parts, one per client: `table` (client, rows, and a ``label=value`` column of
    rows per label), `paths`
    (client i reads only ``paths[i]``), `read(i)`; shown as the label mix per client."""

    def __init__(self, table: pd.DataFrame, paths: list[Path], *, scheme: str,
                 label: str | None, seed: int) -> None:
        self.table = table
        self.paths = paths
        self.scheme = scheme
        self.label = label
        self.seed = seed

    @property
    def clients(self) -> int:
        return len(self.paths)

    @property
    def directory(self) -> Path:
        """Where the parts are (the run directory's ``partitions``)."""
        return self.paths[0].parent

    def read(self, client: int) -> pd.DataFrame:
        """Client ``client``'s rows: what that client, and nobody else, reads."""
        import pandas as pd

        if not 0 <= client < self.clients:
            raise FederatedError(f"client={client!r}: these partitions have clients 0 to "
                                 f"{self.clients - 1}")
        return pd.read_parquet(self.paths[client])

    def label_counts(self) -> pd.DataFrame:
        """The label mix as one row per (client, label): client, label, rows (in the label
        columns' order)."""
        import pandas as pd

        prefix = f"{self.label}="
        columns = [c for c in self.table.columns if c.startswith(prefix)]
        return pd.DataFrame([
            {"client": client, "label": column[len(prefix):], "rows": int(count)}
            for client, counts in zip(self.table["client"], self.table[columns].to_numpy())
            for column, count in zip(columns, counts)], columns=["client", "label", "rows"])

    def widget(self) -> Any:
        """The rows and label mix per client (a view found through `workbench.display`)."""
        return view(self)

    def _ipython_display_(self) -> None:
        show(self)

    def __repr__(self) -> str:
        return (f"Partitions({self.clients} clients, scheme={self.scheme!r}, "
                f"label={self.label!r}, seed={self.seed})\n"
                + self.table.to_string(index=False))

    def _repr_html_(self) -> str:
        return (f"<p><b>{self.clients} clients</b>, {html.escape(self.scheme)} "
                f"(seed {self.seed})</p>" + self.table.to_html(index=False))


def partition(data: Any, clients: int, label: str | None = None, scheme: str = "iid", *,
              alpha: float = 0.5, shards_per_client: int = 2, seed: int = 0,
              path: str | os.PathLike | None = None) -> Partitions:
    """Cut ``data`` (a lake `Table`, a pandas DataFrame, or a path the lake can ingest) into
    ``clients`` parts by ``scheme`` (see the module) and write each to its own Parquet file
    under ``path`` (default: a new run directory's ``partitions``). ``label`` names the label
    column (needed for "dirichlet" and "shards", counted per client whenever given)."""
    frame = _frame(data)
    _check(frame, clients, label, scheme, alpha, shards_per_client)
    rng = _rng(seed)
    labels = None if label is None else frame[label].to_numpy()
    if scheme == "iid":
        parts = _iid(len(frame), clients, rng)
    elif scheme == "dirichlet":
        parts = _dirichlet(labels, clients, alpha, rng)
    else:
        parts = _shards(labels, clients, shards_per_client, rng)
    directory = Path(path) if path is not None else new_run_dir("fl") / "partitions"
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, rows in enumerate(parts):
        target = directory / f"client-{i:03d}.parquet"
        frame.iloc[rows].reset_index(drop=True).to_parquet(target, index=False)
        paths.append(target)
    return Partitions(_table(frame, parts, label), paths, scheme=scheme, label=label,
                      seed=seed)


def _frame(data: Any) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    from workbench.lake.table import Table

    if isinstance(data, Table):
        return data.to_pandas()
    if isinstance(data, str | os.PathLike):
        return _ingested(data)
    raise FederatedError(f"data={type(data).__name__}: give a lake table "
                         "(lake.table(name)), a pandas DataFrame or a file the lake can ingest")


def _ingested(path: str | os.PathLike) -> pd.DataFrame:
    """A file (CSV, JSON lines, Parquet, a glob or folder of them) read by the lake's own
    ingest, into a throwaway lake: the same parsing and types as ``lake.ingest``, and no table
    left in the user's lake. Rows the ingest would quarantine stop the partition (none may be
    silently left out)."""
    import tempfile

    from workbench.lake import Lake

    with tempfile.TemporaryDirectory(prefix="workbench-fl-") as folder:
        lake = Lake(folder)
        report = lake.ingest(path, "source", progress=False)
        if report.rows_quarantined:
            reasons = "; ".join(f"{reason} ({count})" for reason, count in report.reasons.items())
            raise FederatedError(f"{path}: {report.rows_quarantined} of {report.rows_in} rows "
                                 f"cannot be read ({reasons}). Ingest it into your lake "
                                 "(lake.ingest) to see them in its _quarantine, fix or drop "
                                 "them, then partition the table")
        return lake.table("source").to_pandas()


def _check(frame: pd.DataFrame, clients: Any, label: str | None, scheme: str, alpha: float,
           shards_per_client: int) -> None:
    """Every argument checked against the data before anything is written."""
    if scheme not in SCHEMES:
        raise FederatedError(f"scheme={scheme!r}: give one of {list(SCHEMES)}")
    if isinstance(clients, bool) or not isinstance(clients, int) or clients < 1:
        raise FederatedError(f"clients={clients!r}: give a whole number of clients, at least 1")
    if clients > len(frame):
        raise FederatedError(f"clients={clients} but the data has {len(frame)} rows: give at "
                             "most one client per row")
    if label is not None and label not in frame.columns:
        raise FederatedError(f"label={label!r} is not a column; the columns are "
                             f"{list(frame.columns)}")
    if scheme != "iid" and label is None:
        raise FederatedError(f"scheme={scheme!r} deals rows out by label: give label= (one of "
                             f"{list(frame.columns)})")
    if label is not None and frame[label].isna().any():
        row = int(frame[label].isna().to_numpy().argmax())
        raise FederatedError(f"label column {label!r} is empty in row {row}: drop or fill "
                             "such rows first")
    if scheme == "dirichlet" and not alpha > 0:
        raise FederatedError(f"alpha={alpha!r}: the Dirichlet concentration must be > 0 "
                             "(small: few labels per client; large: close to IID)")
    if scheme == "shards":
        if isinstance(shards_per_client, bool) or not isinstance(shards_per_client, int) \
                or shards_per_client < 1:
            raise FederatedError(f"shards_per_client={shards_per_client!r}: give a whole "
                                 "number, at least 1")
        if clients * shards_per_client > len(frame):
            raise FederatedError(f"clients={clients} x shards_per_client={shards_per_client} "
                                 f"shards but the data has {len(frame)} rows: give fewer")


def _rng(seed: int) -> np.random.Generator:
    import numpy as np

    return np.random.default_rng(seed)


def _iid(n: int, clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    import numpy as np

    return [np.sort(part) for part in np.array_split(rng.permutation(n), clients)]


def _dirichlet(labels: np.ndarray, clients: int, alpha: float,
               rng: np.random.Generator) -> list[np.ndarray]:
    """Each label's rows split by a Dirichlet(alpha) draw of the clients' shares; the first
    draw in the seed's sequence that leaves no client empty."""
    import numpy as np

    classes = {value: np.flatnonzero(labels == value) for value in _unique(labels)}
    for _ in range(DIRICHLET_TRIES):
        owned: list[list[np.ndarray]] = [[] for _ in range(clients)]
        for rows in classes.values():
            rows = rng.permutation(rows)
            shares = rng.dirichlet(np.full(clients, alpha))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
            for client, piece in enumerate(np.split(rows, cuts)):
                owned[client].append(piece)
        parts = [np.sort(np.concatenate(pieces)) for pieces in owned]
        if min(len(p) for p in parts) > 0:
            return parts
    raise FederatedError(f"alpha={alpha} left a client with no rows in {DIRICHLET_TRIES} "
                         f"draws of {clients} clients over {len(labels)} rows: give a larger "
                         "alpha or fewer clients")


def _shards(labels: np.ndarray, clients: int, per_client: int,
            rng: np.random.Generator) -> list[np.ndarray]:
    import numpy as np

    by_label = np.argsort(labels, kind="stable")
    shards = np.array_split(by_label, clients * per_client)
    dealt = rng.permutation(len(shards)).reshape(clients, per_client)
    return [np.sort(np.concatenate([shards[s] for s in row])) for row in dealt]


def _unique(labels: np.ndarray) -> list[Any]:
    """The label values in sorted order (as strings when they do not sort together)."""
    import pandas as pd

    values = pd.unique(labels)
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _table(frame: pd.DataFrame, parts: list[np.ndarray], label: str | None) -> pd.DataFrame:
    """One row per client: client, rows, and the rows of each label (a column per value,
    named ``label=value`` so that no value can take the name of another column)."""
    import pandas as pd

    rows = []
    values = [] if label is None else _unique(frame[label].to_numpy())
    for client, part in enumerate(parts):
        row: dict[str, Any] = {"client": client, "rows": len(part)}
        if label is not None:
            counts = frame[label].iloc[part].value_counts()
            row.update({f"{label}={v}": int(counts.get(v, 0)) for v in values})
        rows.append(row)
    return pd.DataFrame(rows)
