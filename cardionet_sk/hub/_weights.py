"""Network weights in and out of HDF5 files, and atomic writes of model folders.

Weights are stored as one HDF5 dataset per network variable, named by its
path (``conv1/kernel``), and read back with h5py: nothing is deserialised,
and every name and shape is checked against the network the config builds.
"""

import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np


def write_weights(model, path, dtype):
    """Store every variable of ``model`` under its path, in ``dtype``."""
    with h5py.File(path, "w") as file:
        for variable in model.weights:
            file.create_dataset(variable.path, data=np.asarray(variable.numpy(), dtype=dtype))


def read_weight_arrays(path):
    """``{variable path: array}`` of a file written by :func:`write_weights`."""
    stored = {}

    def collect(name, obj):
        # visititems stops at the first callback that returns something: return None.
        if isinstance(obj, h5py.Dataset):
            stored[name] = obj[()]

    try:
        with h5py.File(path, "r") as file:
            file.visititems(collect)
    except OSError as exc:
        raise ValueError(f"{path} is not a readable HDF5 weights file: {exc}") from exc
    return stored


def assign_weights(model, stored, path):
    """Assign ``stored`` arrays (from :func:`read_weight_arrays`) to ``model``'s variables."""
    expected = {v.path: v for v in model.weights}
    missing = sorted(set(expected) - set(stored))
    unexpected = sorted(set(stored) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path} does not match the network of its config: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}."
        )
    for name, variable in expected.items():
        if tuple(stored[name].shape) != tuple(variable.shape):
            raise ValueError(
                f"{path}: weight {name!r} has shape {tuple(stored[name].shape)}, but the "
                f"network of its config expects {tuple(variable.shape)}."
            )
        variable.assign(stored[name].astype(variable.dtype))


def write_atomically(directory, files):
    """Write ``{name: writer(path)}`` into ``directory``; an interrupted save leaves it as it was.

    Files are first written into a sibling temporary folder, then moved into
    place one by one with :func:`os.replace`.
    """
    directory = Path(directory)
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=directory))
    try:
        for name, writer in files.items():
            writer(staging / name)
        for name in files:
            os.replace(staging / name, directory / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(directory.iterdir()):
            directory.rmdir()  # a failed first save leaves no empty model folder behind
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
