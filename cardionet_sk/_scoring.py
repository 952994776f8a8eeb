"""Scoring records with a saved model: the engine of ``cardionet predict`` and of Dask.

It loads a model quietly (:func:`load_model`), reads records in batches, applies the
model's input contract to each (leads matched by name, resampled to the model's rate,
at least the model's shortest record), checks each record's signal once, raw, at its
own rate, scores, and makes one :class:`Row` per record: probabilities and labels, or
why the record was skipped. The command line writes the rows to files; Dask gathers
them into DataFrames (:func:`rows_frame`). Memory holds one batch of signals, never the
archive. Nothing here imports the command line.
"""

import contextlib
import copy
import os
import sys
from typing import Any, NamedTuple

import numpy as np

from ._input_contract import check_sampling_rate, has_standard_leads, resample, select_leads
from .datasets import read_record
from .hub._config import ConfigError
from .hub._ensemble_config import ENSEMBLE_CARD_FIELDS, ensemble_model_config


def one_line(exc):
    """``exc`` as one line: OSErrors as ``reason: file``, whitespace runs collapsed."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        message = f"{exc.strerror}: {exc.filename}"
    else:
        message = str(exc) or type(exc).__name__
    if not isinstance(exc, (OSError, ValueError)):
        message = f"{type(exc).__name__}: {message}"
    return " ".join(message.split())


class Model(NamedTuple):
    """A loaded model: what predicts (a classifier, a pipeline ending in one, or an
    ensemble of them), the classifier that holds its classes and thresholds (the
    ensemble itself for an ensemble), the saved config of the records it takes, and the
    shortest record it scores, in seconds."""

    predictor: object
    classifier: object
    config: object
    min_duration: float


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
    """What :func:`~cardionet_sk.load_pretrained` opens for ``name``, TensorFlow's start-up
    lines silenced."""
    _import_tensorflow_quietly()
    from ._loading import load_pretrained

    return load_pretrained(name)


def load_model(name):
    """The scoring :class:`Model` of ``name`` (see :func:`scoring_model`)."""
    return scoring_model(load_predictor(name))


def scoring_model(predictor):
    """The :class:`Model` that scores records with a fitted classifier, pipeline or ensemble.

    Its predictor is a shallow copy (sharing the network) whose classifiers skip their own
    signal checks: scoring checks each record once itself, raw, and marks its row
    (:func:`signal_warnings`) instead of warning. ``predictor`` is left as it is.
    """
    from ._ensemble import MultilabelVotingClassifier

    if isinstance(predictor, MultilabelVotingClassifier):
        return _scoring_ensemble(predictor)
    predictor, classifier = _unchecked(predictor)
    config = getattr(classifier, "pretrained_config_", None)
    return Model(predictor, classifier, config, classifier.min_duration_)


def _unchecked(predictor):
    """A shallow copy of ``predictor`` whose classifier skips its signal checks, and that
    classifier."""
    from sklearn.pipeline import Pipeline

    predictor = copy.copy(predictor)
    if isinstance(predictor, Pipeline):
        name, classifier = predictor.steps[-1]
        classifier = copy.copy(classifier)
        predictor.steps = [*predictor.steps[:-1], (name, classifier)]
    else:
        classifier = predictor
    classifier.set_params(signal_checks=False)
    return predictor, classifier


def _scoring_ensemble(ensemble):
    """An ensemble scores records like one model: the records its members take (each
    member adapts them to its own length), its own classes and thresholds, the card of
    its ``ensemble.json``."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.utils import Bunch

    from ._ensemble import ensemble_config

    unchecked = [_unchecked(getattr(m, "estimator", m)) for m in ensemble.estimators_]
    configs: list[Any] = [getattr(clf, "pretrained_config_", None) for _, clf in unchecked]
    unscorable = (
        "an ensemble is scored from records when its members are saved models that take "
        "records at the same rate with the same leads; score this one in Python."
    )
    if any(c is None for c in configs):
        raise ValueError(unscorable)
    saved = getattr(ensemble, "pretrained_config_", None)
    card = {} if saved is None else {name: getattr(saved, name) for name in ENSEMBLE_CARD_FIELDS}
    try:
        # Its thresholds as they are now, which set_params may have changed since loading.
        config = ensemble_model_config(ensemble_config(ensemble, card), configs)
    except ConfigError as exc:
        raise ValueError(unscorable) from exc
    predictor = copy.copy(ensemble)
    predictor.estimators_ = [FrozenEstimator(member) for member, _ in unchecked]
    names = list(ensemble.named_estimators_)
    predictor.named_estimators_ = Bunch(**dict(zip(names, predictor.estimators_)))
    return Model(predictor, predictor, config, ensemble.min_duration_)


def n_parameters(model):
    """Trainable and non-trainable parameters of the model's networks."""
    from ._response import final_estimator

    members = getattr(model.classifier, "estimators_", None) or [model.classifier]
    return sum(final_estimator(m).model_.count_params() for m in members)


def input_rate(config):
    """Sampling rate, in Hz, of the records the model takes."""
    if config.preprocessing:  # e.g. the original CardioNet-XL: 10 s at 500 Hz, cut into windows
        return config.preprocessing["input_sampling_rate"]
    return config.input.sampling_rate


def model_leads(config):
    """Names of the leads the model takes, in its order."""
    return [str(lead) for lead in config.input.leads]


# -- one record as the model takes it ------------------------------------------------------


def record_signal(path, record, model):
    """The signal of ``record`` with the model's leads, at the record's own rate.

    Leads are matched by name (any case, the usual aliases, any order; extra leads
    ignored). A model whose leads are not all standard ECG leads (``lead0``, ``lead1``
    ... of a model saved without lead names) takes records of as many leads, in their
    own order. Errors name ``path``: a missing lead, a rate that is no positive number,
    a record of fewer than two samples, or one shorter than the model's minimum.

    Returns
    -------
    signal : ndarray of shape (n_timesteps, n_leads)
    rate : float
        The record's sampling rate.
    """
    rate = check_sampling_rate(record.sampling_rate, f"{path}: its sampling rate")
    expected = model_leads(model.config)
    signal = record.signal
    try:
        if has_standard_leads(expected):
            signal = select_leads(signal, record.lead_names, expected)
        elif signal.shape[1] != len(expected):
            raise ValueError(
                f"has {signal.shape[1]} leads, but the model expects {len(expected)} "
                f"({' '.join(expected)})."
            )
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    n_timesteps = len(signal)
    if n_timesteps < 2:
        raise ValueError(f"{path}: has {n_timesteps} sample(s): there is no signal to classify.")
    if n_timesteps / rate < model.min_duration:
        raise ValueError(
            f"{path}: is {n_timesteps / rate:g} s long ({n_timesteps} samples at {rate:g} Hz), "
            f"shorter than the {model.min_duration:g} s the model needs at least (the shortest "
            "record it was trained on)."
        )
    return signal, rate


def signal_warnings(model, signal, rate):
    """The messages of the signal checks of one record (at its own rate), ``""`` if none."""
    from ._signal_checks import check_signal_quality

    problems = check_signal_quality(signal[np.newaxis], rate, leads=model_leads(model.config))
    return "; ".join(problem.message for problem in problems)


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


def score(model, names, *, batch_size, strict):
    """Yield the :class:`Row` of each record of ``names``, in order, one list per batch.

    Only one batch of signals is in memory at a time. A record that cannot be read or
    classified becomes a row with an ``error``, unless ``strict``: then its error is raised.
    """
    for start in range(0, len(names), batch_size):
        yield _score_batch(model, names[start : start + batch_size], strict)


def _score_batch(model, names, strict):
    rows, signals, warnings = {}, {}, {}
    for name in names:
        try:
            signal, rate = record_signal(name, read_record(name), model)
            warnings[name] = signal_warnings(model, signal, rate)
            signals[name] = resample(signal[np.newaxis], rate, input_rate(model.config))[0]
        except (OSError, ValueError) as exc:  # a bad file; anything else is a bug
            if strict:
                raise
            rows[name] = Row(name, error=one_line(exc))
    # One call per record length (records of archives come in a few lengths).
    by_length: dict[int, list[str]] = {}
    for name, signal in signals.items():
        by_length.setdefault(len(signal), []).append(name)
    for group in by_length.values():
        rows.update(_classify_group(model, group, [signals[n] for n in group], warnings, strict))
    return [rows[name] for name in names]


def _classify_group(model, names, signals, warnings, strict):
    """The rows of records of one length."""
    try:
        proba, labels = classify(model, np.stack(signals), names)
    except ValueError as exc:
        if strict:
            raise
        if len(names) == 1:
            return {names[0]: Row(names[0], error=one_line(exc))}
        # One record spoils its group: find which.
        rows = {}
        for name, signal in zip(names, signals):
            rows.update(_classify_group(model, [name], [signal], warnings, strict))
        return rows
    classes = model.classifier.classes_
    return {
        name: Row(name, p, lab, warning=warnings[name])
        for name, p, lab in zip(names, proba, predicted(classes, labels))
    }


# -- the population the records come from -----------------------------------------------------


def estimate_population_priors(model, names, *, batch_size):
    """The first of two passes: each class's prevalence among the records ``names``.

    Scores the records batch by batch (only their probabilities are kept, one row of
    floats per record) and estimates the prevalences by EM (Saerens et al. 2002) from
    the probabilities calibrated at the model's ``calibration_priors``.

    Returns
    -------
    source, target : ndarray of shape (n_classes,)
        The prevalences the model's probabilities are calibrated at, and those of the
        records.
    n_records : int
        Records the estimate rests on (those that could be scored).

    Raises
    ------
    ValueError
        If the model has no saved ``calibration_priors`` (its probabilities are not
        calibrated at known prevalences), or no record could be scored.
    """
    from ._prior_shift import pretrained_priors
    from ._priors import estimate_priors_em

    source = pretrained_priors(model.predictor)
    if source is None:
        raise ValueError(
            f"the model {model.config.name!r} records no calibration_priors, the prevalences "
            "its probabilities are calibrated at: they cannot be adapted to another population."
        )
    proba = [
        row.probabilities
        for rows in score(model, names, batch_size=batch_size, strict=False)
        for row in rows
        if row.error is None
    ]
    if not proba:
        raise ValueError(
            "no record could be scored: there is nothing to estimate prevalences from."
        )
    target, _, _ = estimate_priors_em(np.asarray(proba, dtype=np.float64), source)
    return source, target, len(proba)


def adapted(rows, source, target):
    """The second pass: rows whose probabilities are moved from the ``source`` prevalences
    to the ``target`` ones by Bayes' rule. Labels are kept: each class's threshold moves
    with its probabilities (the same likelihood ratio), so the decisions do not change."""
    from ._priors import adjust_probabilities

    for row in rows:
        if row.error is None:
            row = row._replace(
                probabilities=adjust_probabilities(row.probabilities[np.newaxis], source, target)[0]
            )
        yield row


# -- rows as a table ------------------------------------------------------------------------


def columns(classes, warning=True):
    """The columns of a table of rows; ``warning`` holds the messages of the signal checks
    (CSV files written before it existed end at ``error``)."""
    return ["record", *classes, "predicted", "error", *(["warning"] if warning else [])]


def label_text(labels):
    """The predicted classes of a row as one cell: names separated by spaces, ``-`` for none."""
    return " ".join(labels) or "-"


def rows_frame(rows, classes, start=0):
    """The :class:`pandas.DataFrame` of scored rows, indexed from ``start``."""
    import pandas as pd

    probabilities = np.full((len(rows), len(classes)), np.nan)
    for i, row in enumerate(rows):
        if row.error is None:
            probabilities[i] = row.probabilities
    data = {
        "record": [row.record for row in rows],
        **dict(zip(classes, probabilities.T)),
        "predicted": [None if row.error else label_text(row.labels) for row in rows],
        "error": [row.error for row in rows],
        "warning": [None if row.error else row.warning for row in rows],
    }
    text = pd.StringDtype()
    index = pd.RangeIndex(start, start + len(rows))
    frame = pd.DataFrame(data, index=index, columns=columns(classes))
    return frame.astype({name: text for name in ("record", "predicted", "error", "warning")})
