"""The saved-model schema: :class:`ModelConfig`, the only code that knows ``config.json``.

Everything that writes or reads a model folder (``save_pretrained``,
``from_pretrained``, ``push_to_hub``, the legacy release importer, the model
card and the ``cardionet`` command) goes through this class: its fields are
the file's keys, :meth:`ModelConfig.from_dict` validates every one of them on
read, and nothing in a config selects code to run (the architecture is a
name checked against the caller's registry, the window aggregation one of two
names).
"""

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from .._calibration_maps import Calibrator
from .._validation import check_test_time_shifts, check_thresholds
from .._version import __version__

#: Version of the config.json layout this package writes. Readers for older versions live
#: in :meth:`ModelConfig.from_dict`.
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
MODEL_CARD_NAME = "README.md"

_AGGREGATIONS = ("mean", "max")
_CROP_INFERENCES = ("sliding", "whole")
_WEIGHTS_DTYPES = ("float32", "float16")
_WEIGHTS_FORMATS = ("cardionet", "legacy_h5")
#: PTBXLWindower parameters a config's preprocessing may set.
_PREPROCESSING_FIELDS = {
    "window_size",
    "stride",
    "input_sampling_rate",
    "resample_to",
    "sampling_rate",
    "leads",
    "normalize",
}


#: Text and numbers for the model card, and the prevalences its calibration was fitted at:
#: they describe a model, they do not change what it predicts.
CARD_FIELDS = (
    "name",
    "description",
    "training",
    "repo_id",
    "task",
    "class_descriptions",
    "metrics",
    "calibration_priors",
)

#: The classifier parameters a saved model predicts with, besides its network, labels and
#: calibration: each is a field of the config and a parameter of the classifier of the same
#: name. Saving (:meth:`ModelConfig.from_classifier`), loading and the export sidecar
#: iterate over this tuple: a new one touches it, its check in ``_check_prediction``, and
#: a test.
INFERENCE_PARAMETERS = (
    "window_aggregation",
    "crop_size",
    "crop_stride",
    "crop_inference",
    "test_time_shifts",
)


def inference_parameters(clf):
    """The :data:`INFERENCE_PARAMETERS` of a classifier, as plain JSON values."""
    values = {name: getattr(clf, name) for name in INFERENCE_PARAMETERS}
    if values["test_time_shifts"] is not None:
        values["test_time_shifts"] = [int(v) for v in check_test_time_shifts(clf.test_time_shifts)]
    return values


#: Fields every config has, and their JSON types.
_REQUIRED = {
    "architecture": str,
    "hyperparameters": dict,
    "classes": list,
    "binary": bool,
    "thresholds": list,
    "input": dict,
}


class ConfigError(ValueError):
    """A ``config.json`` that is malformed, tampered with or inconsistent."""


@dataclass(frozen=True)
class InputSpec:
    """What records a saved model takes: rate, length, leads in order, and unit."""

    sampling_rate: float
    n_timesteps: int
    leads: tuple[str, ...]
    units: str = "mV"

    @property
    def duration(self):
        """Seconds of signal in one record."""
        return self.n_timesteps / self.sampling_rate


@dataclass(frozen=True)
class ModelConfig:
    """Everything ``config.json`` holds about a saved model, validated.

    Build one from a fitted classifier with :meth:`from_classifier`, read one
    with :meth:`read`, write it with :meth:`write`. The fields mirror the keys
    of the file; ``metrics`` and ``training`` are free text and numbers for the
    model card, everything else is checked for type, range and consistency.

    Attributes
    ----------
    architecture : str
        Registry name of the network.
    hyperparameters : dict
        The architecture's hyper-parameters, defaults filled in.
    classes : tuple
        Class names (a binary model: ``(0, 1)``).
    binary : bool
        Whether the model is a binary classifier of a 1-D target.
    thresholds : tuple of float
        Decision threshold of each label (one for a binary model).
    input : InputSpec
        Records the model takes.
    standardization : dict or None
        ``{"mean": [...], "scale": [...]}``, one value per lead, or ``None``.
    calibration : list of dict or None
        One calibration map per label, plain numbers (see
        :func:`~cardionet_sk.apply_calibration`), or ``None`` for a model
        whose probabilities are not calibrated (every folder saved before
        calibration existed).
    calibration_priors : list of float or None
        Prevalence of each label, in (0, 1), among the records the
        calibration maps were fitted on: the population whose frequencies the
        calibrated probabilities are (see
        :class:`~cardionet_sk.PriorShiftAdaptedClassifier`). ``None`` (and
        absent, in older folders) when unknown.
    window_aggregation : {"mean", "max"}
        How window probabilities are pooled into a record's probability.
    crop_size, crop_stride : int or None
        Crop length and stride of a network trained on crops.
    crop_inference : {"sliding", "whole"}
        Whether such a network predicts overlapping crops of a longer record
        or the whole record at once; absent (older folders) is ``"sliding"``.
    test_time_shifts : list of int or None
        Circular shifts (timesteps) whose probabilities prediction averages
        (test-time augmentation); ``None`` (and absent, in older folders)
        predicts once.
    preprocessing : dict or None
        :class:`~cardionet_sk.PTBXLWindower` parameters that turn the records
        described by ``input`` into what the network takes (legacy releases).
    weights : str
        File name of the weights inside the model folder.
    weights_dtype : {"float32", "float16"}
        Storage precision of the weights.
    weights_format : {"cardionet", "legacy_h5"}
        Layout of the weights file: one dataset per variable path, or a
        legacy full-model Keras H5 file.
    name, description, repo_id, training : str or None
        Model card text: title, summary, Hub repository, how it was trained.
    task : str or None
        What the labels are: a PTB-XL benchmark task (``"superdiagnostic"``,
        ``"all"`` ...; see :func:`~cardionet_sk.datasets.fetch_ptbxl`), or any
        other name for labels of one's own.
    class_descriptions : list of str or None
        One description per label, e.g. of the SCP-ECG statement it stands for.
    metrics : dict or None
        Evaluation results for the model card (``macro_auc``, ``per_class``,
        ``subgroups`` ...).
    cardionet_sk_version : str or None
        Version of the package that saved the model.
    format_version : int
        Layout version of ``config.json`` (:data:`FORMAT_VERSION`).
    """

    architecture: str
    hyperparameters: dict
    classes: tuple
    binary: bool
    thresholds: tuple
    input: InputSpec
    standardization: dict | None = None
    calibration: list | None = None
    calibration_priors: list | None = None
    window_aggregation: str = "mean"
    crop_size: int | None = None
    crop_stride: int | None = None
    crop_inference: str = "sliding"
    test_time_shifts: list | None = None
    preprocessing: dict | None = None
    weights: str = WEIGHTS_NAME
    weights_dtype: str = "float32"
    weights_format: str = "cardionet"
    name: str | None = None
    description: str | None = None
    repo_id: str | None = None
    training: str | None = None
    task: str | None = None
    class_descriptions: list | None = None
    metrics: dict | None = None
    cardionet_sk_version: str | None = __version__
    format_version: int = FORMAT_VERSION
    source: str = field(default=CONFIG_NAME, compare=False, repr=False)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def from_classifier(
        cls,
        clf,
        *,
        sampling_rate,
        lead_names,
        units,
        weights_dtype="float32",
        **card,
    ):
        """The config of a fitted :class:`~cardionet_sk.CardioNetClassifier`.

        ``card`` holds the model-card fields ``name``,
        ``description``, ``training``, ``metrics`` and ``repo_id``.
        """
        if callable(clf.window_aggregation):
            raise ValueError(
                "A model whose window_aggregation is a callable cannot be saved: a saved "
                "config never selects code to run. Use 'mean' or 'max'."
            )
        leads = tuple(str(lead) for lead in lead_names)
        config = cls(
            architecture=clf.architecture,
            hyperparameters=_jsonable(clf.hyperparameters_),
            classes=tuple(_jsonable(list(clf.classes_))),
            binary=bool(clf.binary_),
            thresholds=tuple(check_thresholds(clf.threshold, clf.n_classes_).tolist()),
            input=InputSpec(sampling_rate, int(clf.n_features_in_), tuple(leads), units),
            standardization=(
                {"mean": clf.mean_.tolist(), "scale": clf.scale_.tolist()}
                if clf.standardize
                else None
            ),
            # The model as it predicts: its maps, unless calibration is switched off.
            calibration=None if (maps := clf._calibration_maps()) is None else list(maps),
            **inference_parameters(clf),
            weights_dtype=weights_dtype,
            **card,
        )
        return config.validated()

    # -- reading and writing -------------------------------------------------------------

    @classmethod
    def read(cls, directory, *, architectures):
        """Read and validate ``directory/config.json``.

        ``architectures`` maps each known architecture name to its
        hyper-parameter defaults: the names a config may use.

        Raises
        ------
        FileNotFoundError
            No config, or a config naming a missing weights file.
        ConfigError
            Invalid JSON, an unknown format version, or any invalid field;
            the message names the file and the field.
        """
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{directory} has no {CONFIG_NAME}: it is not a model saved by "
                "CardioNetClassifier.save_pretrained."
            )
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
        config = cls.from_dict(data, source=str(path), architectures=architectures)
        weights = Path(directory) / config.weights
        if not weights.is_file():
            raise FileNotFoundError(f"{path} names the weights file {weights}, which is missing.")
        return config

    @classmethod
    def from_dict(cls, data, *, source=CONFIG_NAME, architectures=None):
        """Validate the content of a ``config.json`` and make it a config.

        Format version 1 is the current layout. ``architectures`` (name ->
        hyper-parameter defaults) restricts the architecture and its
        hyper-parameters; ``None`` skips that check.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the config must be a JSON object.")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"{source} has format_version {version!r}; this cardionet-sk "
                f"({__version__}) reads format_version {FORMAT_VERSION}. Upgrade cardionet-sk."
            )
        known = {f.name for f in fields(cls)} - {"source"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {unknown}.")
        values = dict(data)
        for name, kind in _REQUIRED.items():
            _require(values, name, kind, source)
        spec = values["input"]
        unknown = sorted(set(spec) - {f.name for f in fields(InputSpec)})
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {unknown} in 'input'.")
        try:
            values["input"] = InputSpec(**spec)
        except TypeError as exc:
            raise ConfigError(f"{source}: field 'input' is incomplete: {exc}.") from exc
        if not isinstance(spec.get("leads"), list):
            raise ConfigError(f"{source}: field 'input.leads' must be a JSON list.")
        values["input"] = replace(values["input"], leads=tuple(values["input"].leads))
        values["classes"], values["thresholds"] = (
            tuple(values["classes"]),
            tuple(values["thresholds"]),
        )
        config = cls(**values, source=source)
        return config.validated(architectures)

    def to_dict(self):
        """The content of ``config.json``: plain JSON types only."""
        data = asdict(self)
        del data["source"]
        data["classes"], data["thresholds"] = list(self.classes), list(self.thresholds)
        data["input"]["leads"] = list(self.input.leads)
        return data

    def write(self, path):
        """Write ``config.json`` to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    # -- validation ------------------------------------------------------------------------

    def validated(self, architectures=None):
        """This config, after checking every field; :class:`ConfigError` names the first bad one.

        ``architectures`` (name -> hyper-parameter defaults) restricts the
        architecture and its hyper-parameters; ``None`` skips that check.
        """

        def fail(name, problem):
            raise ConfigError(f"{self.source}: field '{name}' {problem}.")

        _check_network(self, fail, architectures)
        for check in (
            _check_labels,
            _check_input,
            _check_standardization,
            _check_prediction,
            _check_calibration_priors,
        ):
            check(self, fail)
        _check_storage(self, fail)
        return self

    def check_weights(self, n_leads, n_outputs, path):
        """Check the config against the shapes stored in the weights file.

        ``n_leads`` and ``n_outputs`` are read off the first and the output
        layer's kernels; the error names the config field that disagrees.
        """
        n_labels = self.n_labels
        if n_outputs != n_labels:
            raise ConfigError(
                f"{self.source}: field 'classes' has {n_labels} label(s), but the output layer "
                f"stored in {path} has {n_outputs} outputs."
            )
        if self.preprocessing is None and n_leads != len(self.input.leads):
            raise ConfigError(
                f"{self.source}: field 'input.leads' has {len(self.input.leads)} leads, but the "
                f"first layer stored in {path} takes {n_leads}."
            )

    # -- derived -----------------------------------------------------------------------------

    def resave_arguments(self):
        """What ``save_pretrained`` needs to write a model loaded from this config again
        with the same input contract, storage precision and card (benchmarks add metrics
        to embedded models; an ensemble saves its loaded members)."""
        return {
            "sampling_rate": self.input.sampling_rate,
            "lead_names": list(self.input.leads),
            "units": self.input.units,
            "weights_dtype": self.weights_dtype,
            **{name: getattr(self, name) for name in CARD_FIELDS},
        }

    @property
    def n_labels(self):
        """Number of network outputs: one per class, or one for a binary model."""
        return 1 if self.binary else len(self.classes)


def _check_network(config, fail, architectures):
    """The architecture is a known name and its hyper-parameters plain numbers."""
    if not isinstance(config.architecture, str):
        fail("architecture", "must be a string")
    if architectures is not None and config.architecture not in architectures:
        fail(
            "architecture",
            f"names {config.architecture!r}; known architectures are {sorted(architectures)}",
        )
    if not isinstance(config.hyperparameters, dict):
        fail("hyperparameters", "must be an object")
    for key, value in config.hyperparameters.items():
        if not _is_plain_number_or_list(value):
            fail(
                f"hyperparameters.{key}",
                f"must be a number or a list of numbers, not {value!r}",
            )
    if architectures is not None:
        unknown = sorted(set(config.hyperparameters) - set(architectures[config.architecture]))
        if unknown:
            fail("hyperparameters", f"has {unknown}, unknown to {config.architecture!r}")


def _check_labels(config, fail):
    """Classes and thresholds agree with each other and with ``binary``."""
    if not isinstance(config.binary, bool):
        fail("binary", "must be true or false")
    if not config.classes or not all(isinstance(c, (str, int)) for c in config.classes):
        fail("classes", "must be a non-empty list of names or integers")
    if len(set(config.classes)) != len(config.classes):
        fail("classes", "must not repeat a class")
    if config.binary and len(config.classes) != 2:
        fail("classes", f"of a binary model must have two entries, not {len(config.classes)}")
    n_labels = config.n_labels
    if len(config.thresholds) != n_labels:
        fail("thresholds", f"has {len(config.thresholds)} values for {n_labels} label(s)")
    for t in config.thresholds:
        # A threshold above 1 is a class never predicted; below 0, one always predicted.
        if not _is_real(t) or not 0 <= t <= 1:
            fail("thresholds", f"must hold numbers in [0, 1], not {t!r}")


def _check_input(config, fail):
    """The record contract: rate, length, distinct lead names, unit."""
    spec = config.input
    if not _is_real(spec.sampling_rate) or not 0 < spec.sampling_rate < math.inf:
        fail("input.sampling_rate", f"must be a positive number, not {spec.sampling_rate!r}")
    if not _is_int(spec.n_timesteps) or spec.n_timesteps < 1:
        fail("input.n_timesteps", f"must be a positive integer, not {spec.n_timesteps!r}")
    if not spec.leads or not all(isinstance(lead, str) for lead in spec.leads):
        fail("input.leads", "must be a non-empty list of lead names")
    if len(set(spec.leads)) != len(spec.leads):
        fail("input.leads", "must not repeat a lead")
    if not isinstance(spec.units, str):
        fail("input.units", "must be a string")


def _check_standardization(config, fail):
    """One finite mean and positive scale per lead of the input."""
    spec = config.input
    if config.standardization is not None:
        if not isinstance(config.standardization, dict) or set(config.standardization) != {
            "mean",
            "scale",
        }:
            fail("standardization", "must be null or an object with 'mean' and 'scale'")
        for key in ("mean", "scale"):
            values = config.standardization[key]
            if not isinstance(values, list) or not all(_is_real(v) for v in values):
                fail(f"standardization.{key}", "must be a list of numbers")
            if len(values) != len(spec.leads):
                fail(
                    f"standardization.{key}",
                    f"has {len(values)} values for the {len(spec.leads)} leads of 'input'",
                )
            if not np.isfinite(values).all():
                fail(f"standardization.{key}", "must hold finite numbers")
        if not (np.asarray(config.standardization["scale"]) > 0).all():
            fail("standardization.scale", "must be positive")


def _check_prediction(config, fail):
    """Calibration maps, aggregation and crops are plain numbers and names, preprocessing
    only windower settings."""
    spec = config.input
    if config.calibration is not None:
        if not isinstance(config.calibration, list) or len(config.calibration) != config.n_labels:
            fail("calibration", f"must be null or a list of {config.n_labels} maps, one per label")
        try:
            for mapping in config.calibration:
                Calibrator.from_dict(mapping)
        except (TypeError, ValueError) as exc:
            fail("calibration", f"holds an invalid map: {exc}")
    if config.window_aggregation not in _AGGREGATIONS:
        fail("window_aggregation", f"must be one of {list(_AGGREGATIONS)}")
    for name in ("crop_size", "crop_stride"):
        value = getattr(config, name)
        if value is not None and (not _is_int(value) or value < 1):
            fail(name, f"must be null or a positive integer, not {value!r}")
    if config.crop_size is not None and config.crop_size > spec.n_timesteps:
        fail("crop_size", f"is longer than the {spec.n_timesteps} timesteps of 'input'")
    if config.crop_stride is not None and config.crop_size is None:
        fail("crop_stride", "must be null for a model not trained on crops (crop_size null)")
    if config.crop_inference not in _CROP_INFERENCES:
        fail("crop_inference", f"must be one of {list(_CROP_INFERENCES)}")
    shifts = config.test_time_shifts
    if shifts is not None and not (
        isinstance(shifts, list)
        and shifts
        and all(_is_int(v) and abs(v) < spec.n_timesteps for v in shifts)
    ):
        fail(
            "test_time_shifts",
            f"must be null or a non-empty list of integers within ±{spec.n_timesteps - 1}",
        )
    if config.preprocessing is not None:
        if not isinstance(config.preprocessing, dict):
            fail("preprocessing", "must be null or an object")
        unknown = sorted(set(config.preprocessing) - _PREPROCESSING_FIELDS)
        if unknown:
            fail("preprocessing", f"has {unknown}; it may only set {sorted(_PREPROCESSING_FIELDS)}")
        if not all(
            v is None or isinstance(v, str) or _is_plain_number_or_list(v)
            for v in config.preprocessing.values()
        ):
            fail("preprocessing", "must hold plain numbers, strings or lists")


def _check_calibration_priors(config, fail):
    """One prevalence strictly between 0 and 1 per label, or nothing."""
    priors = config.calibration_priors
    if priors is None:
        return
    if not isinstance(priors, list) or len(priors) != config.n_labels:
        fail("calibration_priors", f"must be null or a list of {config.n_labels} prevalences")
    for value in priors:
        if not _is_real(value) or not 0 < value < 1:
            fail("calibration_priors", f"must hold numbers strictly between 0 and 1, not {value!r}")


def _check_storage(config, fail):
    """The weights file stays inside the folder; card fields are text."""
    if not isinstance(config.weights, str) or Path(config.weights).name != config.weights:
        fail("weights", "must be a file name inside the model folder")
    if config.weights_dtype not in _WEIGHTS_DTYPES:
        fail("weights_dtype", f"must be one of {list(_WEIGHTS_DTYPES)}")
    if config.weights_format not in _WEIGHTS_FORMATS:
        fail("weights_format", f"must be one of {list(_WEIGHTS_FORMATS)}")
    for name in ("name", "description", "repo_id", "training", "task", "cardionet_sk_version"):
        if getattr(config, name) is not None and not isinstance(getattr(config, name), str):
            fail(name, "must be null or a string")
    descriptions = config.class_descriptions
    if descriptions is not None and not (
        isinstance(descriptions, list)
        and len(descriptions) == config.n_labels
        and all(isinstance(d, str) for d in descriptions)
    ):
        fail("class_descriptions", f"must be null or a list of {config.n_labels} strings")
    if config.metrics is not None and not isinstance(config.metrics, dict):
        fail("metrics", "must be null or an object")


def _require(values, name, kind, source):
    if name not in values:
        raise ConfigError(f"{source}: field '{name}' is missing.")
    if not isinstance(values[name], kind):
        raise ConfigError(f"{source}: field '{name}' must be a JSON {kind.__name__}.")
    return values[name]


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_plain_number_or_list(value):
    if isinstance(value, list):
        return all(_is_real(v) for v in value)
    return _is_real(value)


def _jsonable(value):
    """Tuples, arrays and numpy scalars as plain JSON values."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
