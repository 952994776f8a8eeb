"""The records side of ``cardionet``: finding WFDB records, loading the model, scoring.

Finding records imports neither TensorFlow nor the classifier, so that a typo in a path
is reported in a second, not after TensorFlow's import. Scoring reads and classifies one
batch of records at a time: memory holds one batch of signals, never the archive.
"""

import contextlib
import copy
import errno
import glob
import os
import re
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._constants import LEADS
from .datasets import read_record
from .datasets._records import _record_name
from .hub._config import ConfigError
from .hub._ensemble_config import ensemble_model_config

#: Characters that make an argument a glob pattern (those of :func:`glob.glob`).
_GLOB_MAGIC = re.compile(r"[*?[]")


def one_line(exc):
    """``exc`` as one line: OSErrors as ``reason: file``, whitespace runs collapsed."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        message = f"{exc.strerror}: {exc.filename}"
    else:
        message = str(exc) or type(exc).__name__
    if not isinstance(exc, (OSError, ValueError)):
        message = f"{type(exc).__name__}: {message}"
    return " ".join(message.split())


# -- finding records ----------------------------------------------------------------------


def record_key(name):
    """What identifies a record whatever its spelling: ``a/x.hea``, ``./a/x`` and the
    absolute path of ``a/x`` are one record."""
    return os.path.realpath(_record_name(name))


def find_records(arguments):
    """The records named by the RECORD arguments, each once, in a stable order.

    An argument is a record (its header, or its path without extension), a folder (every
    ``*.hea`` below it) or a glob pattern (the headers and folders it matches, ``**``
    included). Arguments keep their order; the records of a folder or pattern are sorted.
    The first spelling of a record named twice is kept.

    Raises
    ------
    FileNotFoundError
        If a record's header does not exist, or a folder or pattern holds no header:
        a typo should end the run before it starts, not produce an empty archive.
    """
    found: dict[str, str] = {}
    for argument in arguments:
        for name in _expand(argument):
            found.setdefault(record_key(name), name)
    return list(found.values())


def _expand(argument):
    """The record names of one RECORD argument."""
    if os.path.isdir(argument):
        headers = sorted(str(path) for path in Path(argument).rglob("*.hea"))
        if not headers:
            raise FileNotFoundError(errno.ENOENT, "No WFDB header (*.hea) below", argument)
        return headers
    header = f"{_record_name(argument)}.hea"
    if os.path.isfile(header) or not _GLOB_MAGIC.search(argument):
        if not os.path.isfile(header):
            raise FileNotFoundError(errno.ENOENT, "WFDB header not found", header)
        return [argument]
    # A pattern such as `rec*` matches signal files too: only headers and folders count.
    names = []
    for match in sorted(glob.glob(argument, recursive=True)):
        if os.path.isdir(match):
            names += sorted(str(path) for path in Path(match).rglob("*.hea"))
        elif match.endswith(".hea"):
            names.append(match)
    if not names:
        raise FileNotFoundError(errno.ENOENT, "No WFDB header (*.hea) matches", argument)
    return names


# -- the model ----------------------------------------------------------------------------


class Model(NamedTuple):
    """A loaded model: what predicts (a classifier, a pipeline ending in one, or an
    ensemble of them), the classifier that holds its classes and thresholds (the
    ensemble itself for an ensemble), and the saved config of the records it takes."""

    predictor: object
    classifier: object
    config: object


@contextlib.contextmanager
def _c_stderr_to_devnull():
    """Send the process's file descriptor 2 to /dev/null.

    TensorFlow's C++ runtime logs through absl while it is imported and when it looks for
    a GPU ("Could not find cuda drivers", "oneDNN custom operations", "failed call to
    cuInit"), before and regardless of ``TF_CPP_MIN_LOG_LEVEL``; only the file descriptor
    itself can be silenced. ``sys.stderr`` writes go through it too, so no Python error is
    raised meanwhile without being shown afterwards: exceptions propagate, they are not
    printed here.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error at all: nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_tensorflow_quietly():
    """Import TensorFlow and start its devices, without its log lines on the terminal."""
    if "tensorflow" in sys.modules:  # e.g. main() called from Python: too late to help
        return
    import absl.logging  # absl ships with TensorFlow; it logs Keras' Python warnings

    absl.logging.set_verbosity(absl.logging.ERROR)
    with _c_stderr_to_devnull():
        import tensorflow as tf

        tf.config.list_logical_devices()  # looks for GPUs now, while fd 2 is silenced


def load_predictor(name):
    """What :meth:`CardioNetClassifier.from_pretrained` loads for ``name``."""
    _import_tensorflow_quietly()
    from ._classifier import CardioNetClassifier

    return CardioNetClassifier.from_pretrained(name)


def load_model(name):
    """The scoring :class:`Model` of ``name`` (see :func:`scoring_model`)."""
    return scoring_model(load_predictor(name))


def scoring_model(predictor):
    """The :class:`Model` that scores records with a fitted classifier, pipeline or ensemble.

    Its predictor is a shallow copy (sharing the network) whose classifier skips its own
    signal checks: scoring checks each record once itself, raw, and marks its row
    (:func:`signal_warnings`) instead of warning. ``predictor`` is left as it is.
    """
    if hasattr(predictor, "estimators_"):
        return _scoring_ensemble(predictor)
    predictor, classifier = _unchecked(predictor)
    return Model(predictor, classifier, getattr(classifier, "pretrained_config_", None))


def _unchecked(predictor):
    """A shallow copy of ``predictor`` whose classifier skips its signal checks, and that
    classifier."""
    predictor = copy.copy(predictor)
    if hasattr(predictor, "steps"):
        name, classifier = predictor.steps[-1]
        classifier = copy.copy(classifier)
        predictor.steps = [*predictor.steps[:-1], (name, classifier)]
    else:
        classifier = predictor
    classifier.set_params(signal_checks=False)
    return predictor, classifier


def _scoring_ensemble(ensemble):
    """An ensemble scores records like one model: the records its members take, its own
    classes and thresholds, the card of its ``ensemble.json``."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.utils import Bunch

    unchecked = [_unchecked(getattr(m, "estimator", m)) for m in ensemble.estimators_]
    configs: list[Any] = [getattr(clf, "pretrained_config_", None) for _, clf in unchecked]
    unscorable = (
        "the command line scores an ensemble whose members are saved models that take "
        "the same records (rate, length and leads); score this one in Python."
    )
    if any(c is None for c in configs):
        raise ValueError(unscorable)
    card = getattr(ensemble, "pretrained_config_", None) or {}
    try:
        config = ensemble_model_config(
            {
                **card,
                "classes": np.asarray(ensemble.classes_).tolist(),
                "thresholds": np.broadcast_to(ensemble.threshold, len(ensemble.classes_)).tolist(),
            },
            configs,
        )
    except ConfigError as exc:
        raise ValueError(unscorable) from exc
    predictor = copy.copy(ensemble)
    predictor.estimators_ = [FrozenEstimator(member) for member, _ in unchecked]
    names = list(ensemble.named_estimators_)
    predictor.named_estimators_ = Bunch(**dict(zip(names, predictor.estimators_)))
    return Model(predictor, predictor, config)


def n_parameters(model):
    """Trainable and non-trainable parameters of the model's networks."""
    members = getattr(model.classifier, "estimators_", None) or [model.classifier]
    return sum(_classifier_of(m).model_.count_params() for m in members)


def _classifier_of(predictor):
    predictor = getattr(predictor, "estimator", predictor)  # a FrozenEstimator member
    return predictor.steps[-1][1] if hasattr(predictor, "steps") else predictor


def _takes_one_length(model):
    """Whether every record must have the model's own length: a network of fixed input
    length (not cut into windows by a preprocessing step, nor into crops)."""
    if model.config.preprocessing:
        return False
    members = getattr(model.classifier, "estimators_", None) or [model.classifier]
    return any(
        clf.crop_size is None and clf.model_.input_shape[1] is not None
        for clf in map(_classifier_of, members)
    )


def input_rate(config):
    """Sampling rate, in Hz, of the records the model takes."""
    if config.preprocessing:  # e.g. the original CardioNet-XL: 10 s at 500 Hz, cut into windows
        return config.preprocessing["input_sampling_rate"]
    return config.input.sampling_rate


def _model_signal(path, record, model):
    """The signal of ``record`` as the model takes it: its leads, by name, in its order.

    A record with more leads than the model (a 12-lead record for a model trained on
    a subset) gives the model's leads; one that lacks any of them, or whose rate or
    length the model does not take, is rejected naming ``path``. As
    :meth:`CardioNetClassifier.from_pretrained` documents, records are never
    resampled, cropped or padded to fit.
    """
    spec, rate = model.config.input, input_rate(model.config)
    if record.sampling_rate != rate:
        raise ValueError(
            f"{path}: sampled at {record.sampling_rate:g} Hz, but the model expects "
            f"{rate:g} Hz; resample the record first (the model does not resample)."
        )
    signal = _select_leads(path, record, [str(lead) for lead in spec.leads])
    n_timesteps = len(record.signal)
    if _takes_one_length(model) and n_timesteps != spec.n_timesteps:
        raise ValueError(
            f"{path}: has {n_timesteps} samples ({n_timesteps / rate:g} s at {rate:g} Hz), but "
            f"the model expects {spec.n_timesteps} ({spec.duration:g} s); "
            "records are not cropped or padded."
        )
    return signal


def _select_leads(path, record, expected):
    """The columns of ``record.signal`` for the ``expected`` leads, matched by name.

    Names are compared without case (``aVR`` is ``AVR``). A model whose leads are not
    all standard ECG leads (``lead0``, ``lead1`` ... of a model saved without lead names)
    takes records of as many leads, in their own order.
    """
    names = [str(lead) for lead in record.lead_names]
    known = {lead.upper() for lead in LEADS}
    if not all(lead.upper() in known for lead in expected):
        if len(names) != len(expected):
            raise ValueError(
                f"{path}: has {len(names)} leads, but the model expects {len(expected)} "
                f"({' '.join(expected)})."
            )
        return record.signal
    position = {name.upper(): i for i, name in enumerate(names)}
    missing = [lead for lead in expected if lead.upper() not in position]
    if missing:
        raise ValueError(
            f"{path}: lacks the lead(s) {' '.join(missing)} of the model, which takes the "
            f"{len(expected)} leads {' '.join(expected)}; the record has {' '.join(names)}."
        )
    return record.signal[:, [position[lead.upper()] for lead in expected]]


# -- scoring ------------------------------------------------------------------------------


class Row(NamedTuple):
    """One output row: a record's class probabilities, predicted class names and the
    messages of the signal checks (``""`` when it passed them), or why it was skipped."""

    record: str
    probabilities: object = None
    labels: object = None
    error: str | None = None
    warning: str | None = None


def predicted(classes, labels):
    """Names of the predicted classes of each record, from ``predict``'s output."""
    labels = np.asarray(labels)
    if labels.ndim == 1:  # binary classifier: the predicted class itself
        return [[str(classes[int(lab)])] for lab in labels]
    return [[str(c) for c, on in zip(classes, row) if on] for row in labels]


def classify(model, X, paths):
    """Probabilities and labels of records of one length; errors name the records."""
    from ._thresholds import apply_thresholds

    try:
        proba = model.predictor.predict_proba(X)
    except ValueError as exc:
        more = f" (and {len(paths) - 1} other records of its length)" if len(paths) > 1 else ""
        raise ValueError(f"{paths[0]}{more}: {exc}") from exc
    clf = model.classifier
    binary = clf.binary_ if model.config is None else model.config.binary
    return proba, apply_thresholds(proba[:, 1] if binary else proba, clf.threshold)


def signal_warnings(model, X):
    """Per record of ``X``, the messages of its signal-check problems, ``""`` if none.

    The checks run at the rate and with the lead names of the records the model takes.
    """
    from ._signal_checks import check_signal_quality

    names = [str(lead) for lead in model.config.input.leads]
    leads = names if len(names) == X.shape[-1] else None
    messages: list[list[str]] = [[] for _ in range(len(X))]
    for problem in check_signal_quality(X, input_rate(model.config), leads=leads):
        messages[problem.record].append(problem.message)
    return ["; ".join(m) for m in messages]


def score(model, names, *, batch_size, strict):
    """Yield the :class:`Row` of each record of ``names``, in order, one list per batch.

    Only one batch of signals is in memory at a time. A record that cannot be read or
    classified becomes a row with an ``error``, unless ``strict``: then its error is raised.
    """
    for start in range(0, len(names), batch_size):
        yield _score_batch(model, names[start : start + batch_size], strict)


def _score_batch(model, names, strict):
    rows, signals = {}, {}
    for name in names:
        try:
            record = read_record(name)
            signals[name] = _model_signal(name, record, model)
        except (OSError, ValueError) as exc:  # a bad file; anything else is a bug
            if strict:
                raise
            rows[name] = Row(name, error=one_line(exc))
    # One call per record length (only models that take several lengths see more than one).
    by_length: dict[int, list[str]] = {}
    for name, signal in signals.items():
        by_length.setdefault(len(signal), []).append(name)
    for group in by_length.values():
        rows.update(_classify_group(model, group, [signals[n] for n in group], strict))
    return [rows[name] for name in names]


def _classify_group(model, names, signals, strict):
    """The rows of records of one length."""
    try:
        X = np.stack(signals)
        proba, labels = classify(model, X, names)
        flags = signal_warnings(model, X)
    except ValueError as exc:
        if strict:
            raise
        if len(names) == 1:
            return {names[0]: Row(names[0], error=one_line(exc))}
        # One record, e.g. too short for the network, spoils its group: find which.
        rows = {}
        for name, signal in zip(names, signals):
            rows.update(_classify_group(model, [name], [signal], strict))
        return rows
    classes = model.classifier.classes_
    return {
        name: Row(name, p, lab, warning=w)
        for name, p, lab, w in zip(names, proba, predicted(classes, labels), flags)
    }
