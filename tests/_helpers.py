"""Helpers shared by test modules (fixtures live in conftest.py)."""

import importlib
import os

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
