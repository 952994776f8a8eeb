"""The file of a saved ensemble, ``ensemble.json``, and an ensemble described as one model.

An ensemble (:class:`~cardionet_sk.MultilabelVotingClassifier`) is saved as a folder
holding ``ensemble.json`` (its members' names and weights, classes, thresholds and
card), a model card, and one model folder per member under ``members/``, each with its
own :class:`~cardionet_sk.hub.ModelConfig`. A member marked ``"embedded": true`` is
instead the embedded model of its name (``hub.EMBEDDED_DIR``): an ensemble embedded in
the package refers to the package's models rather than storing them twice.
"""

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from ._config import ConfigError, _is_real

#: The file that makes a folder an ensemble of model folders (``members/<name>``).
ENSEMBLE_NAME = "ensemble.json"
ENSEMBLE_FORMAT_VERSION = 1
#: Text and numbers that describe an ensemble, besides its members, classes and thresholds.
ENSEMBLE_CARD_FIELDS = ("name", "description", "training", "task", "metrics", "repo_id")


@dataclass(frozen=True)
class EnsembleMember:
    """One member of a saved ensemble: its folder name under ``members/`` (or the name of
    the embedded model it is, when ``embedded``) and its weight in the vote."""

    name: str
    weight: float
    embedded: bool = False


@dataclass(frozen=True)
class EnsembleConfig:
    """Everything ``ensemble.json`` holds, validated: the schema of a saved ensemble.

    Build one with :meth:`from_dict` (what :func:`read_ensemble_config` reads), write
    it with :meth:`write`. Every field is checked for type and range; errors name the
    file and the field, as :class:`ModelConfig`'s do.

    Attributes
    ----------
    members : tuple of EnsembleMember
        Names, weights (non-negative, not all zero) and whether each is an
        embedded model.
    classes : tuple
        Class names, shared by every member.
    thresholds : tuple of float
        Decision threshold of each class, in [0, 1].
    name, description, training, task, repo_id : str or None
        Model card text.
    metrics : dict or None
        Evaluation results for the model card.
    format_version : int
        Layout version of ``ensemble.json``.
    """

    members: tuple
    classes: tuple
    thresholds: tuple
    name: str | None = None
    description: str | None = None
    training: str | None = None
    task: str | None = None
    metrics: dict | None = None
    repo_id: str | None = None
    format_version: int = ENSEMBLE_FORMAT_VERSION
    source: str = field(default=ENSEMBLE_NAME, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data, *, source=ENSEMBLE_NAME):
        """Validate the content of an ``ensemble.json`` and make it a config."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the file must hold a JSON object.")
        if data.get("format_version") != ENSEMBLE_FORMAT_VERSION:
            raise ConfigError(f"{source}: format_version must be {ENSEMBLE_FORMAT_VERSION}.")
        known = {f.name for f in fields(cls)} - {"source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {unknown}.")
        for name in ("members", "classes", "thresholds"):
            if not isinstance(data.get(name), list) or not data[name]:
                raise ConfigError(f"{source}: field '{name}' must be a non-empty JSON list.")
        members = []
        for i, member in enumerate(data["members"]):
            unknown = sorted(set(member) - {f.name for f in fields(EnsembleMember)})
            if not isinstance(member, dict) or unknown or "name" not in member:
                raise ConfigError(
                    f"{source}: field 'members[{i}]' must be an object with 'name', 'weight' "
                    f"and optionally 'embedded'" + (f", not {unknown}" if unknown else "") + "."
                )
            members.append(EnsembleMember(**{"weight": None, **member}))
        values = {
            **data,
            "members": tuple(members),
            "classes": tuple(data["classes"]),
            "thresholds": tuple(data["thresholds"]),
        }
        return cls(**values, source=source).validated()

    def validated(self):
        """This config, after checking every field; :class:`ConfigError` names the first bad one."""

        def fail(name, problem):
            raise ConfigError(f"{self.source}: field '{name}' {problem}.")

        for i, member in enumerate(self.members):
            if not (
                isinstance(member.name, str)
                and member.name not in ("", ".", "..")
                and Path(member.name).name == member.name
            ):
                fail(f"members[{i}].name", f"must be a plain folder name, not {member.name!r}")
            weight = member.weight
            if not _is_real(weight) or not math.isfinite(weight) or weight < 0:
                fail(f"members[{i}].weight", f"must be a non-negative number, not {weight!r}")
            if not isinstance(member.embedded, bool):
                fail(f"members[{i}].embedded", "must be true or false")
        names = [member.name for member in self.members]
        if len(set(names)) != len(names):
            fail("members", f"must not repeat a name: {names}")
        if not any(member.weight > 0 for member in self.members):
            fail("members", "must have a positive weight")
        if not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in self.classes):
            fail("classes", "must hold names or integers")
        if len(set(self.classes)) != len(self.classes):
            fail("classes", "must not repeat a class")
        if len(self.thresholds) != len(self.classes):
            fail("thresholds", f"has {len(self.thresholds)} values for {len(self.classes)} classes")
        for t in self.thresholds:
            if not _is_real(t) or not 0 <= t <= 1:
                fail("thresholds", f"must hold numbers in [0, 1], not {t!r}")
        for name in ("name", "description", "training", "task", "repo_id"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                fail(name, "must be null or a string")
        if self.metrics is not None and not isinstance(self.metrics, dict):
            fail("metrics", "must be null or an object")
        return self

    def to_dict(self):
        """The content of ``ensemble.json``: plain JSON types only."""
        data = asdict(self)
        del data["source"]
        data["members"] = [
            {"name": m.name, "weight": m.weight, **({"embedded": True} if m.embedded else {})}
            for m in self.members
        ]
        data["classes"], data["thresholds"] = list(self.classes), list(self.thresholds)
        return {"format_version": data.pop("format_version"), **data}

    def write(self, path):
        """Write ``ensemble.json`` into the folder ``path``."""
        (Path(path) / ENSEMBLE_NAME).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def read_ensemble_config(path):
    """The checked :class:`EnsembleConfig` of an ensemble folder's ``ensemble.json``.

    An ensemble (:class:`~cardionet_sk.MultilabelVotingClassifier`) is saved as
    this file, naming its members and their weights, and one model folder per
    member under ``members/``, each with its own :class:`ModelConfig`, except
    members marked ``"embedded": true``, which are embedded models (their
    folders are found by :func:`ensemble_member_folders`).
    """
    path = Path(path)
    source = path / ENSEMBLE_NAME
    if not source.is_file():
        raise ConfigError(f"{path} is not an ensemble folder: it has no {ENSEMBLE_NAME}.")
    try:
        data = json.loads(source.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source} is not valid JSON: {exc}.") from exc
    config = EnsembleConfig.from_dict(data, source=str(source))
    for i, member in enumerate(config.members):
        if not member.embedded and not (path / "members" / member.name).is_dir():
            raise ConfigError(
                f"{source}: field 'members[{i}]' names {member.name!r}, but members/"
                f"{member.name} is missing (a member stored elsewhere is marked "
                '"embedded": true).'
            )
    return config


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
        classes=tuple(ensemble_config.classes),
        thresholds=tuple(ensemble_config.thresholds),
        # The members' own maps: the card reads them as "probabilities calibrated on
        # PTB-XL", which a mean of calibrated members is (calibration_ptbxl.py measures it).
        calibration=(
            first.calibration if all(c.calibration is not None for c in member_configs) else None
        ),
        **{name: getattr(ensemble_config, name) for name in ENSEMBLE_CARD_FIELDS},
    )
