"""Helpers shared by test modules (fixtures live in conftest.py)."""

import importlib
import os

import numpy as np
import pytest


def optional_import(module, extra):
    """Import ``module`` of an optional extra: in CI, where the README's test command installs
    every extra the tests need, its absence fails the test; elsewhere it skips it, naming
    the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"{module} is not installed: pip install 'cardionet-sk[{extra}]' ({exc})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


def first_load(home, barrier, out):
    """Load ``home`` with ``fetch_ptbxl`` once all the processes are ready, to make their first
    loads collide; save the records to ``out``. For spawned processes: this module imports
    neither TensorFlow nor the test modules."""
    from cardionet_sk.datasets import fetch_ptbxl

    barrier.wait(timeout=300)
    np.save(out, fetch_ptbxl(home).data)
