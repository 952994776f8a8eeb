"""A model folder as a whole: config, weights and model card written and read together."""

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .._constants import HEAD_LAYER
from ._card import model_card
from ._config import CARD_FIELDS, CONFIG_NAME, MODEL_CARD_NAME, WEIGHTS_NAME, ModelConfig
from ._ensemble_config import ensemble_model_config, read_ensemble_config
from ._legacy import assign_legacy_weights, legacy_config, read_legacy_weights
from ._resolve import ensemble_member_folders, is_ensemble_folder
from ._weights import assign_weights, read_weight_arrays, write_atomically, write_weights


def save_model_folder(directory, config, model):
    """Write ``config.json``, the weights of ``model`` and the model card into ``directory``.

    Files are written to a temporary folder first and moved into place, so an
    interrupted save does not leave a half-written model.
    """
    write_atomically(
        directory,
        {
            CONFIG_NAME: config.write,
            WEIGHTS_NAME: lambda path: write_weights(model, path, config.weights_dtype),
            MODEL_CARD_NAME: lambda path: model_card(config).save(path),
        },
    )
    return Path(directory)


def read_model_config(directory, *, architectures):
    """The validated config of a model folder, or of a known legacy release in it."""
    if not (Path(directory) / CONFIG_NAME).is_file():
        legacy = legacy_config(directory)
        if legacy is not None:
            return legacy
    return ModelConfig.read(directory, architectures=architectures)


def folder_config(directory, *, architectures=None):
    """A saved model described as one :class:`ModelConfig`: a network's (or a legacy
    release's) own, an ensemble's made of its ``ensemble.json`` and its members' input.
    What its model card and the ``cardionet`` command show."""
    if not is_ensemble_folder(directory):
        return read_model_config(directory, architectures=architectures)
    ensemble = read_ensemble_config(Path(directory))
    members = [
        ModelConfig.read(member, architectures=architectures)
        for member in ensemble_member_folders(Path(directory), ensemble)
    ]
    return ensemble_model_config(ensemble, members)


def same_model(directory, other):
    """Whether two model folders hold the same model: equal configs but for the card
    (name, description, training, Hub id, task, class descriptions, metrics and the
    version that saved it) and equal stored weights, variable by variable, to the bit."""

    def content(folder):
        config = ModelConfig.read(folder, architectures=None)
        stripped = replace(config, **dict.fromkeys(CARD_FIELDS), cardionet_sk_version=None)
        return stripped, read_weight_arrays(Path(folder) / config.weights)

    (config, weights), (other_config, other_weights) = content(directory), content(other)
    return (
        config == other_config
        and weights.keys() == other_weights.keys()
        and all(
            weights[k].dtype == other_weights[k].dtype
            and np.array_equal(weights[k], other_weights[k])
            for k in weights
        )
    )


def load_weights(model, directory, config):
    """Assign the weights of a model folder to ``model``, the network its config describes.

    The stored input and output widths are checked against the config first,
    so that a config whose classes or leads disagree with its weights is
    reported as such, naming the field.
    """
    path = Path(directory) / config.weights
    if config.weights_format == "legacy_h5":
        arrays = read_legacy_weights(path)
        config.check_weights(arrays[0][0].shape[-2], arrays[-1][0].shape[-1], path)
        assign_legacy_weights(model, arrays, path)
        return
    stored = read_weight_arrays(path)
    first, head = stored.get(model.weights[0].path), stored.get(f"{HEAD_LAYER}/kernel")
    if first is not None and head is not None:
        config.check_weights(first.shape[-2], head.shape[-1], path)
    assign_weights(model, stored, path)


def push_folder(save, repo_id, *, private=None, token=None, commit_message=None):
    """Write a model folder with ``save(folder)`` and upload it to the Hub repository.

    Creates the repository if needed (:meth:`huggingface_hub.HfApi.create_repo`)
    and uploads the folder (:meth:`huggingface_hub.HfApi.upload_folder`).
    """
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as folder:
        save(folder)
        api.create_repo(repo_id, private=private, exist_ok=True)
        return api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message)
