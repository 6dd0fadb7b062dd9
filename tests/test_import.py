"""`import workbench as wb` stays fast: heavy modules load on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_is_fast_and_loads_nothing_heavy():
    code = ("import sys, time; t = time.perf_counter(); import workbench as wb; "
            "dt = time.perf_counter() - t; "
            "heavy = [m for m in ('dask', 'distributed', 'deltalake', 'pyarrow', 'pandas', "
            "'torch', 'numba', 'plotly', 'ipywidgets', 'zmq', 'cloudpickle') "
            "if m in sys.modules]; print(dt, heavy)")
    times = []
    for _ in range(3):  # best of three: the first run may pay for cold disk caches
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split(maxsplit=1)
        times.append(float(out[0]))
        assert out[1].strip() == "[]"
    assert min(times) < 0.3


def test_public_names_resolve():
    import workbench as wb

    assert callable(wb.cluster) and callable(wb.clusters) and callable(wb.env)
    assert wb.Lake.__name__ == "Lake"
    assert wb.widgets.LakeBrowser.__name__ == "LakeBrowser"
    assert callable(wb.launch) and wb.train.WorkerError.__name__ == "WorkerError"
    assert set(wb.__all__) <= set(dir(wb))


def test_lazy_exports_load_once_cache_and_say_what_is_missing():
    import json
    import types

    from workbench.lazy import lazy_exports

    pkg = types.ModuleType("fake_pkg")
    pkg.__all__ = ["dumps", "decoder"]
    pkg.__getattr__, pkg.__dir__ = lazy_exports(vars(pkg), {"dumps": "json"}, ["decoder"])
    assert "dumps" not in vars(pkg)
    assert pkg.dumps is json.dumps and vars(pkg)["dumps"] is json.dumps  # cached
    with pytest.raises(AttributeError, match="^module 'fake_pkg' has no attribute 'loads'$"):
        _ = pkg.loads
    assert {"dumps", "decoder"} <= set(dir(pkg))
