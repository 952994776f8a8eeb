"""Saving, loading and publishing fitted CardioNet models, locally and on the Hugging Face Hub.

A model folder holds three files, none of which runs code when loaded:

* ``config.json``: format version, package version, architecture and its
  hyper-parameters, class names, thresholds, the expected input (sampling
  rate, length, lead names, units), standardisation and metrics;
* ``model.weights.h5``: one HDF5 dataset per network variable, read with
  h5py and checked against the shapes of the network the config describes;
* ``README.md``: the model card, with Hub metadata.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np

from ._architectures import ARCHITECTURES
from ._constants import LEADS, PUBLISHED_THRESHOLDS, SUPERCLASSES
from ._version import __version__

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
MODEL_CARD_NAME = "README.md"

#: Hub repository the project publishes its default model under.
DEFAULT_REPO_ID = "cardionet-sk/cardionet-ptbxl"

_EMBEDDED_DIR = Path(__file__).resolve().parent / "pretrained"

#: Embedded model name -> the Hub repository it is published as.
_EMBEDDED_REPO_IDS = {
    "cardionet-ptbxl": DEFAULT_REPO_ID,
    "resnet1d-wang-ptbxl": "cardionet-sk/resnet1d-wang-ptbxl",
}


def list_pretrained():
    """Names of the pretrained models shipped inside the package.

    Each name can be passed to :meth:`CardioNetClassifier.from_pretrained`;
    no network access is needed to load them.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from cardionet_sk import list_pretrained
    >>> "cardionet-ptbxl" in list_pretrained()
    True
    """
    if not _EMBEDDED_DIR.is_dir():
        return []
    return sorted(p.name for p in _EMBEDDED_DIR.iterdir() if (p / CONFIG_NAME).is_file())


def resolve_model_dir(
    repo_id_or_path,
    *,
    revision=None,
    cache_dir=None,
    force_download=False,
    token=None,
    local_files_only=False,
):
    """Find the folder of a model: embedded name, local path or Hub repository.

    ``None`` is the default embedded model. An embedded model's name, or the
    Hub repository it is published as, loads the embedded copy unless a
    ``revision`` or ``force_download`` asks for the Hub. Anything else that is
    not an existing folder is downloaded with
    :func:`huggingface_hub.snapshot_download` (or read from its cache).
    """
    embedded = {name: name for name in list_pretrained()}
    embedded.update({repo: name for name, repo in _EMBEDDED_REPO_IDS.items() if name in embedded})
    if repo_id_or_path is None:
        repo_id_or_path = "cardionet-ptbxl"
    if repo_id_or_path in embedded and revision is None and not force_download:
        return _EMBEDDED_DIR / embedded[repo_id_or_path]
    path = Path(repo_id_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(
            f"{path} is a file; a pretrained model is a folder with "
            f"{CONFIG_NAME} and {WEIGHTS_NAME}."
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo_id_or_path,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
                library_name="cardionet-sk",
                library_version=__version__,
            )
        )
    except HFValidationError as exc:
        raise ValueError(
            f"{repo_id_or_path!r} is neither an existing folder, nor an embedded model "
            f"({', '.join(list_pretrained()) or 'none'}), nor a valid Hub repository id."
        ) from exc
    except LocalEntryNotFoundError as exc:
        raise OSError(
            f"Cannot resolve {repo_id_or_path!r}: it is not in the Hugging Face cache "
            f"({cache_dir or 'the default cache'}) and the Hub cannot be reached (offline, "
            "HF_HUB_OFFLINE=1 or local_files_only=True). Download it once with network access, "
            "or pass the path of a folder written by save_pretrained."
        ) from exc


def read_config(directory):
    """Read and check a model folder's ``config.json`` (or recognise a legacy H5 model)."""
    directory = Path(directory)
    config_path = directory / CONFIG_NAME
    if not config_path.is_file():
        legacy = legacy_h5_config(directory)
        if legacy is not None:
            return legacy
        raise FileNotFoundError(
            f"{directory} has no {CONFIG_NAME}: it is not a model saved by "
            "CardioNetClassifier.save_pretrained."
        )
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{config_path} is not valid JSON: {exc}") from exc
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{config_path} has format_version {version!r}; this cardionet-sk "
            f"({__version__}) reads format_version {FORMAT_VERSION}. Upgrade cardionet-sk."
        )
    if config.get("architecture") not in ARCHITECTURES:
        raise ValueError(
            f"{config_path} names architecture {config.get('architecture')!r}; known "
            f"architectures are {sorted(ARCHITECTURES)}."
        )
    weights = directory / config.get("weights", WEIGHTS_NAME)
    if not weights.is_file():
        raise FileNotFoundError(
            f"{config_path} names the weights file {weights}, which is missing."
        )
    return config


#: Models published before this package as one full Keras H5 file, by file name: how to
#: rebuild them from our own architecture code.
LEGACY_H5_MODELS = {
    "cardionet_xl.h5": {
        "name": "CardioNet-XL (original release)",
        "description": (
            "The original CardioNet-XL release: the published CardioNet CNN on z-score "
            "normalised 2 s windows of 500 Hz PTB-XL records, with its hand-picked thresholds."
        ),
        "input": {"sampling_rate": 500, "n_timesteps": 1000, "leads": list(LEADS), "units": "mV"},
        "thresholds": [PUBLISHED_THRESHOLDS[c] for c in SUPERCLASSES],
        "classes": list(SUPERCLASSES),
        # Cuts a 10 s 500 Hz record into the five 2 s windows the network takes.
        "preprocessing": {
            "window_size": 1000,
            "stride": 1000,
            "input_sampling_rate": 500,
            "normalize": "record",
        },
    },
}


def legacy_h5_config(directory):
    """A config, in our format, for a folder holding a known legacy Keras H5 model.

    The architecture's hyper-parameters are read off the stored weight shapes;
    the file's own ``model_config`` (code to deserialise) is never used.
    """
    for filename, known in LEGACY_H5_MODELS.items():
        path = Path(directory) / filename
        if path.is_file():
            weights = read_legacy_h5_weights(path)
            kernels = [w[0] for w in weights if w[0].ndim == 3]
            dense = [w[0] for w in weights if w[0].ndim == 2]
            if len(dense) != 2 or not kernels:
                raise ValueError(
                    f"{path} does not hold a CardioNet CNN: expected convolution "
                    f"kernels and two dense layers, found {len(kernels)} and "
                    f"{len(dense)}."
                )
            filters = [k.shape[2] for k in kernels]
            return {
                "format_version": FORMAT_VERSION,
                "architecture": "cardionet",
                "hyperparameters": {
                    "filters": filters,
                    "kernel_sizes": [k.shape[0] for k in kernels],
                    "dense_units": dense[0].shape[1],
                    "dropout": 0.5,
                },
                "binary": False,
                "window_aggregation": "mean",
                "standardization": None,
                "weights": filename,
                "weights_format": "legacy_h5",
                **known,
            }
    return None


def read_legacy_h5_weights(path):
    """Per-layer weight arrays of a full-model Keras H5 file, in layer order, read with h5py."""
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


def assign_legacy_h5_weights(model, path):
    """Load the per-layer weights of a legacy H5 file into ``model``, layer by layer in order."""
    stored = read_legacy_h5_weights(path)
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


def write_weights(model, path, dtype):
    """Store every variable of ``model`` under its path, in ``dtype``."""
    with h5py.File(path, "w") as file:
        for variable in model.weights:
            file.create_dataset(variable.path, data=np.asarray(variable.numpy(), dtype=dtype))


def read_weights(model, path):
    """Assign the variables stored by :func:`write_weights`, checking names and shapes."""
    stored = {}

    def collect(name, obj):
        # visititems stops at the first callback that returns something: return None.
        if isinstance(obj, h5py.Dataset):
            stored[name] = obj[()]

    with h5py.File(path, "r") as file:
        file.visititems(collect)
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
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".saving-", dir=directory))
    try:
        for name, writer in files.items():
            writer(staging / name)
        for name in files:
            os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def model_card(config):
    """The README.md of a model folder: Hub metadata, intended use, limits and metrics."""
    metrics = config.get("metrics") or {}
    classes = config["classes"]
    front = [
        "---",
        "library_name: cardionet-sk",
        "license: cc-by-4.0",
        "tags:",
        *[
            f"- {t}"
            for t in (
                "ecg",
                "electrocardiography",
                "ptb-xl",
                "scikit-learn",
                "keras",
                "multi-label-classification",
                "time-series-classification",
            )
        ],
        "datasets:",
        "- ptb-xl",
        "metrics:",
        "- roc_auc",
        "- f1",
    ]
    if metrics:
        front += [
            "model-index:",
            f"- name: {config.get('name', 'cardionet')}",
            "  results:",
            "  - task:",
            "      type: multi-label-classification",
            "    dataset:",
            f"      name: {metrics.get('dataset', 'PTB-XL')}",
            "      type: ptb-xl",
            "    metrics:",
        ]
        for key, label in (("macro_auc", "roc_auc"), ("macro_f1", "f1")):
            if key in metrics:
                front += [
                    f"    - type: {label}",
                    f"      value: {metrics[key]:.4f}",
                    f"      name: {key.replace('_', ' ')}",
                ]
    front.append("---")
    spec = config["input"]
    lines = [
        f"# {config.get('name') or 'CardioNet'}",
        "",
        config.get("description") or "A CardioNet 12-lead ECG classifier saved by cardionet-sk.",
        "",
        "## Use",
        "",
        "```python",
        "from cardionet_sk import CardioNetClassifier",
        f"clf = CardioNetClassifier.from_pretrained({config.get('repo_id') or DEFAULT_REPO_ID!r})",
        "proba = clf.predict_proba(X)   # X: (n_records, "
        f"{spec['n_timesteps']}, {len(spec['leads'])}) in {spec['units']}",
        "labels = clf.predict(X)        # tuned per-class thresholds",
        "```",
        "",
        f"Input: {spec['n_timesteps']} samples at {spec['sampling_rate']} Hz "
        f"({spec['n_timesteps'] / spec['sampling_rate']:g} s), leads "
        f"{', '.join(spec['leads'])}, in {spec['units']}; other lengths or rates are rejected "
        "with an error (resample with `PTBXLWindower`).",
        "",
        "Outputs: one independent probability per class "
        f"({', '.join(classes)}); `predict` applies the thresholds "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(classes, config["thresholds"]))
        + ".",
        "",
        "## Intended use and limits",
        "",
        "For research on automated ECG interpretation only. **This is not a medical device**: "
        "it is not cleared or validated for clinical use and must not guide diagnosis or "
        "treatment. It was trained on PTB-XL, recorded with Schiller devices in Germany between "
        "1989 and 1996; performance on other populations, devices, sampling rates and "
        "pre-processing is unknown. Labels are the PTB-XL diagnostic superclasses, which are "
        "coarse: a record may carry several or none.",
    ]
    if metrics.get("per_class"):
        lines += [
            "",
            "## Evaluation",
            "",
            metrics.get("description", ""),
            "",
            "| class | AUC | F1 | precision | recall | support |",
            "|---|---|---|---|---|---|",
        ]
        for name, row in metrics["per_class"].items():
            lines.append(
                f"| {name} | {row['auc']:.3f} | {row['f1']:.3f} | "
                f"{row['precision']:.3f} | {row['recall']:.3f} | {row['support']} |"
            )
        lines.append(
            f"| **macro** | **{metrics['macro_auc']:.3f}** | **{metrics['macro_f1']:.3f}** | | | |"
        )
    training = config.get("training")
    if training:
        lines += ["", "## Training", "", training]
    lines += [
        "",
        "## Data and citation",
        "",
        "Trained on PTB-XL v1.0.1 (Wagner, Strodthoff, Bousseljot, Samek, Schaeffter, 2020; "
        "PhysioNet, https://doi.org/10.13026/x4td-x982), licensed CC BY 4.0.",
        "",
    ]
    return "\n".join(front + [""] + lines)
