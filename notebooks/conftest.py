"""nbval runs these notebooks in `make test`: give their kernels a workbench home of their own,
so runs, dashboards and keys never touch (or see) the user's ~/.workbench."""

import os
import tempfile


def pytest_configure(config):
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-notebooks-")
