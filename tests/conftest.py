"""Fixtures shared by the test modules that read real PTB-XL records from ../shared."""

import subprocess
import sys
from pathlib import Path

import pytest

#: The offline copy of PTB-XL folds 1-9 beside the repository (see its README).
SHARED_PTBXL = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl"

requires_shared_ptbxl = pytest.mark.skipif(
    not (SHARED_PTBXL / "unpack.py").is_file(),
    reason=f"real PTB-XL records are read from {SHARED_PTBXL}, which is absent on this machine",
)


@pytest.fixture(scope="session")
def fold9_home(tmp_path_factory):
    """A data home whose ptbxl/ folder holds fold 9 in the official layout."""
    if not (SHARED_PTBXL / "unpack.py").is_file():
        pytest.skip(f"real PTB-XL records are read from {SHARED_PTBXL}, which is absent")
    home = tmp_path_factory.mktemp("data_home")
    subprocess.run(
        [sys.executable, str(SHARED_PTBXL / "unpack.py"), str(home / "ptbxl"), "--folds", "9"],
        check=True,
        capture_output=True,
    )
    return home
