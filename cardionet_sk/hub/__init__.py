"""Saved models: the ``config.json`` schema, model folders, the Hugging Face Hub.

A model folder holds three files, none of which runs code when loaded:

* ``config.json``: the :class:`ModelConfig` (architecture and hyper-parameters,
  classes, thresholds, the expected input, standardisation, metrics);
* ``model.weights.h5``: one HDF5 dataset per network variable, read with
  h5py and checked against the network the config describes;
* ``README.md``: the model card, with Hub metadata.

This package imports neither TensorFlow nor the classifier: the classifier's
``save_pretrained``, ``from_pretrained`` and ``push_to_hub``, and the
``cardionet`` command, call it.
"""

from ._card import model_card
from ._config import (
    CONFIG_NAME,
    FORMAT_VERSION,
    INFERENCE_PARAMETERS,
    MODEL_CARD_NAME,
    WEIGHTS_NAME,
    ConfigError,
    InputSpec,
    ModelConfig,
)
from ._ensemble_config import (
    ENSEMBLE_CARD_FIELDS,
    ENSEMBLE_NAME,
    EnsembleConfig,
    EnsembleMember,
    ensemble_model_config,
    read_ensemble_config,
)
from ._folder import (
    folder_config,
    load_weights,
    push_folder,
    read_model_config,
    same_model,
    save_model_folder,
)
from ._resolve import (
    DEFAULT_MODEL,
    DEFAULT_REPO_ID,
    EMBEDDED_DIR,
    embedded_model_folder,
    ensemble_member_folders,
    is_ensemble_folder,
    list_pretrained,
    resolve_model_dir,
)

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_MODEL",
    "DEFAULT_REPO_ID",
    "EMBEDDED_DIR",
    "ENSEMBLE_CARD_FIELDS",
    "ENSEMBLE_NAME",
    "FORMAT_VERSION",
    "INFERENCE_PARAMETERS",
    "MODEL_CARD_NAME",
    "WEIGHTS_NAME",
    "ConfigError",
    "EnsembleConfig",
    "EnsembleMember",
    "InputSpec",
    "ModelConfig",
    "embedded_model_folder",
    "ensemble_member_folders",
    "ensemble_model_config",
    "folder_config",
    "is_ensemble_folder",
    "list_pretrained",
    "load_weights",
    "model_card",
    "push_folder",
    "read_ensemble_config",
    "read_model_config",
    "resolve_model_dir",
    "same_model",
    "save_model_folder",
]
