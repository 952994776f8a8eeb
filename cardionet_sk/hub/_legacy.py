"""Importer of models published before this package as one full Keras H5 file.

Such a file holds code to deserialise (its ``model_config``), which is never
used: the network is rebuilt from this package's own architecture code, its
hyper-parameters read off the stored weight shapes, and the per-layer weights
read with h5py.
"""

from pathlib import Path
from typing import Any

import h5py

from .._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._config import InputSpec, ModelConfig

#: Known legacy releases, by file name: what the file itself does not say.
LEGACY_H5_MODELS: dict[str, dict[str, Any]] = {
    "cardionet_xl.h5": {
        "name": "CardioNet-XL (original release)",
        "description": (
            "The original CardioNet-XL release: the published CardioNet CNN on z-score "
            "normalised 2 s windows of 500 Hz PTB-XL records, with its hand-picked thresholds."
        ),
        # The network's input: 2 s windows that ``preprocessing`` cuts from longer records.
        "input": InputSpec(500, 1000, LEADS, "mV"),
        "thresholds": tuple(PUBLISHED_THRESHOLDS[c] for c in SUPERCLASSES),
        "classes": SUPERCLASSES,
        # Cuts a 10 s 500 Hz record into the five 2 s windows the network takes.
        "preprocessing": {
            "window_size": 1000,
            "stride": 1000,
            "input_sampling_rate": 500,
            "normalize": "record",
        },
    },
}


def legacy_config(directory):
    """The config of a folder holding a known legacy Keras H5 model, or ``None``."""
    for filename, known in LEGACY_H5_MODELS.items():
        path = Path(directory) / filename
        if path.is_file():
            weights = read_legacy_weights(path)
            kernels = [w[0] for w in weights if w[0].ndim == 3]
            dense = [w[0] for w in weights if w[0].ndim == 2]
            if len(dense) != 2 or not kernels:
                raise ValueError(
                    f"{path} does not hold a CardioNet CNN: expected convolution "
                    f"kernels and two dense layers, found {len(kernels)} and "
                    f"{len(dense)}."
                )
            config = ModelConfig(
                architecture="cardionet",
                hyperparameters={
                    "filters": [k.shape[2] for k in kernels],
                    "kernel_sizes": [k.shape[0] for k in kernels],
                    "dense_units": dense[0].shape[1],
                    "dropout": 0.5,
                },
                binary=False,
                weights=filename,
                weights_format="legacy_h5",
                cardionet_sk_version=None,
                source=str(path),
                **known,
            )
            return config.validated()
    return None


def read_legacy_weights(path):
    """Per-layer weight arrays of a full-model Keras H5 file, in layer order."""
    try:
        with h5py.File(path, "r") as file:
            group = file["model_weights"] if "model_weights" in file else file
            weights = []
            for layer in group.attrs["layer_names"]:
                layer = layer.decode() if isinstance(layer, bytes) else layer
                names = [
                    n.decode() if isinstance(n, bytes) else n
                    for n in group[layer].attrs["weight_names"]
                ]
                if names:
                    weights.append([group[layer][n][()] for n in names])
            return weights
    except (OSError, KeyError) as exc:
        raise ValueError(f"{path} is not a Keras H5 model file: {exc}") from exc


def assign_legacy_weights(model, stored, path):
    """Assign ``stored`` (from :func:`read_legacy_weights` of ``path``) to ``model``, in order."""
    targets = [layer for layer in model.layers if layer.weights]
    if len(stored) != len(targets):
        raise ValueError(
            f"{path} has weights for {len(stored)} layers; the network has "
            f"{len(targets)} layers with weights."
        )
    for layer, arrays in zip(targets, stored):
        expected = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != expected:
            raise ValueError(
                f"{path}: layer {layer.name!r} expects weights of shapes "
                f"{expected}, the file has {[a.shape for a in arrays]}."
            )
        layer.set_weights(arrays)
