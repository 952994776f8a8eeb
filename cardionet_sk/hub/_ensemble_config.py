"""The file of a saved ensemble, ``ensemble.json``, and an ensemble described as one model.

An ensemble (:class:`~cardionet_sk.MultilabelVotingClassifier`) is saved as a folder
holding ``ensemble.json`` (its members' names and weights, classes, thresholds and
card), a model card, and one model folder per member under ``members/``, each with its
own :class:`~cardionet_sk.hub.ModelConfig`. A member marked ``"embedded": true`` is
instead the embedded model of its name (``hub.EMBEDDED_DIR``): an ensemble embedded in
the package refers to the package's models rather than storing them twice.
"""

import json
from dataclasses import replace
from pathlib import Path

from ._config import ConfigError

#: The file that makes a folder an ensemble of model folders (``members/<name>``).
ENSEMBLE_NAME = "ensemble.json"
ENSEMBLE_FORMAT_VERSION = 1
#: Text and numbers that describe an ensemble, besides its members, classes and thresholds.
ENSEMBLE_CARD_FIELDS = ("name", "description", "training", "task", "metrics", "repo_id")


def read_ensemble_config(path):
    """The checked content of an ensemble folder's ``ensemble.json``.

    An ensemble (:class:`~cardionet_sk.MultilabelVotingClassifier`) is saved as
    this file, naming its members and their weights, and one model folder per
    member under ``members/``, each with its own :class:`ModelConfig`, except
    members marked ``"embedded": true``, which are embedded models (their
    folders are found by :func:`ensemble_member_folders`).
    """
    source = path / ENSEMBLE_NAME
    if not source.is_file():
        raise ConfigError(f"{path} is not an ensemble folder: it has no {ENSEMBLE_NAME}.")
    try:
        config = json.loads(source.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}.") from exc
    if not isinstance(config, dict) or config.get("format_version") != ENSEMBLE_FORMAT_VERSION:
        raise ConfigError(f"{source}: format_version must be {ENSEMBLE_FORMAT_VERSION}.")
    members = config.get("members")
    if not (isinstance(members, list) and members and all(_is_member(path, m) for m in members)):
        raise ConfigError(
            f"{source}: field 'members' must list folder names under members/ (or names of "
            'embedded models, marked "embedded": true) with non-negative weights.'
        )
    classes, thresholds = config.get("classes"), config.get("thresholds")
    if not (
        isinstance(classes, list)
        and isinstance(thresholds, list)
        and len(classes) == len(thresholds)
        and all(isinstance(t, (int, float)) and 0 <= t <= 1 for t in thresholds)
    ):
        raise ConfigError(
            f"{source}: fields 'classes' and 'thresholds' must be lists of equal length, "
            "the thresholds in [0, 1]."
        )
    return config


def _is_member(path, member):
    """A member entry: a plain folder name, a weight, and its folder under ``members/``
    unless it is an embedded model."""
    if not (
        isinstance(member, dict)
        and isinstance(member.get("name"), str)
        and Path(member["name"]).name == member["name"] != ".."
        and isinstance(member.get("weight"), (int, float))
        and member["weight"] >= 0
        and isinstance(member.get("embedded", False), bool)
    ):
        return False
    return member.get("embedded", False) or (path / "members" / member["name"]).is_dir()


def ensemble_model_config(ensemble_config, member_configs):
    """An ensemble described as one model: its members' shared input, its own labels and card.

    What the model card and the ``cardionet`` command show of an ensemble
    (``ensemble.json`` read by :func:`read_ensemble_config`, its members'
    :class:`ModelConfig`). The members must take the same records.
    """
    first = member_configs[0]
    if any(
        (c.input, c.preprocessing) != (first.input, first.preprocessing) for c in member_configs
    ):
        raise ConfigError(
            "the members of this ensemble take different records (rate, length, leads or "
            "preprocessing): it has no single input to describe."
        )
    return replace(
        first,
        architecture=" + ".join(c.architecture for c in member_configs),
        classes=tuple(ensemble_config["classes"]),
        thresholds=tuple(ensemble_config["thresholds"]),
        # The members' own maps: the card reads them as "probabilities calibrated on
        # PTB-XL", which a mean of calibrated members is (calibration_ptbxl.py measures it).
        calibration=(
            first.calibration if all(c.calibration is not None for c in member_configs) else None
        ),
        **{field: ensemble_config.get(field) for field in ENSEMBLE_CARD_FIELDS},
    )
