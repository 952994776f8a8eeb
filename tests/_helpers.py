"""Helpers shared by test modules (fixtures live in conftest.py)."""

import importlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
import wfdb

from cardionet_sk import LEADS

#: The offline copy of PTB-XL folds 1-9 beside the repository (see its README).
SHARED_PTBXL = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptbxl"

requires_shared_ptbxl = pytest.mark.skipif(
    not (SHARED_PTBXL / "unpack.py").is_file(),
    reason=f"real PTB-XL records are read from {SHARED_PTBXL}, which is absent on this machine",
)


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


#: A CardioNet small enough to train in a second, seeded: the tests' default network.
TINY = {
    "model__filters": (4,),
    "model__kernel_sizes": (3,),
    "model__dense_units": 8,
    "epochs": 1,
    "random_state": 0,
}

#: The five superclasses, and the thresholds of the tiny model of the CLI tests.
CLASSES = ["NORM", "MI", "STTC", "CD", "HYP"]
THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7]

#: Lines TensorFlow's C++ runtime writes to stderr when it is imported or looks for a GPU,
#: whatever TF_CPP_MIN_LOG_LEVEL says; the command must keep them off the user's terminal.
TF_IMPORT_LOG = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|[IWEF]\d{4} \d\d:\d\d:\d\d)"
    r"|Could not find cuda drivers|oneDNN custom operations|cuInit|cpu_feature_guard"
)


def write_record(folder, name, signal, fs=100, leads=LEADS):
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * signal.shape[1],
        sig_name=list(leads),
        p_signal=signal,
        fmt=["16"] * signal.shape[1],
        write_dir=str(folder),
    )
    return folder / f"{name}.hea"


def write_original_release(path):
    """A full Keras model file laid out like the published cardionet_xl.h5, through Keras's own
    legacy H5 saving, with the default layer names of a Sequential model."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((1000, 12))])
    for filters, kernel_size in ((32, 7), (64, 5), (128, 3)):
        model.add(layers.Conv1D(filters, kernel_size, padding="same", activation="relu"))
        model.add(layers.BatchNormalization())
        model.add(layers.MaxPooling1D(2))
    for layer in (
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(5, activation="sigmoid"),
    ):
        model.add(layer)
    model.compile("adam", "binary_crossentropy")
    model.save(path)
    return model
