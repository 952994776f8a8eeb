"""How a classifier trains: validating records and labels, the initial state, the epochs.

:class:`~cardionet_sk.CardioNetClassifier`'s ``fit`` and ``partial_fit`` call
this mixin; the Keras side (networks, batches, the loop) lives in
:mod:`cardionet_sk._keras`.
"""

from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from ._compat import check_sample_weight
from ._constants import LEADS
from ._input_contract import check_min_length, check_sampling_rate, resample, select_leads
from ._keras.architectures import ARCHITECTURES, check_hyperparameters
from ._keras.losses import balanced_label_weights
from ._keras.training import (
    build_compiled_network,
    set_body_trainable,
    split_records,
    train_network,
    transfer_body_weights,
)
from ._signal_checks import warn_signal_quality
from ._statistics import lead_statistics
from ._validation import check_ecg_array, check_thresholds, check_training_target
from ._windowing import sliding_windows


class TrainingMixin:
    """Training of a :class:`~cardionet_sk.CardioNetClassifier`, behind its ``fit``.

    The mixin reads the classifier's parameters and sets its fitted
    attributes; they are declared here for mypy only (annotations create no
    attributes).
    """

    architecture: str
    threshold: Any
    crop_size: Any
    crop_stride: Any
    crop_inference: str
    class_weight: Any
    standardize: bool
    init: Any
    validation_split: float
    random_state: Any
    sampling_rate: float
    signal_checks: Any
    class_names: Any
    model_: Any
    history_: dict
    n_classes_: int
    n_leads_in_: int
    n_features_in_: int
    _pretrained_start: Any

    def _fit(self, X, y, sample_weight, groups, *, warm, epochs, incremental=False):
        check_thresholds(self.threshold, np.size(self.threshold))
        X = self._validate_X(X, reset=not warm)
        # A batch of partial_fit may lack a class that the stream as a whole has.
        y = self._validate_y(y, X.shape[0], reset=not warm, require_both_values=not incremental)
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, np.empty((X.shape[0], 0)))
        if self.crop_size is not None and self.crop_size > X.shape[2]:
            raise ValueError(
                f"crop_size={self.crop_size} is longer than the {X.shape[2]} "
                "timesteps of the records."
            )
        if (
            self.crop_size is not None
            and self.crop_inference == "whole"
            and ARCHITECTURES[self.architecture].fixed_length
        ):
            raise ValueError(
                f"crop_inference='whole' needs a network that takes records of any length; "
                f"{self.architecture!r} takes exactly crop_size={self.crop_size} timesteps. "
                "Use crop_inference='sliding'."
            )
        if groups is not None:
            groups = column_or_1d(groups)
            check_consistent_length(groups, y)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max)) if self.random_state is not None else None
        validation_split = 0.0 if incremental else self.validation_split
        train, val = split_records(X.shape[0], validation_split, rng, groups)
        if not warm:
            self.validation_records_ = val
            # Calibration maps belong to the network they were fitted on.
            self.__dict__.pop("calibration_maps_", None)
            self._initialize(X, y, train, seed)
            self.history_ = {}
        freeze_epochs = self._fine_tuning("freeze_epochs", "freeze_epochs", 0)
        frozen = min(freeze_epochs, epochs) if self.init is not None and not warm else 0
        for phase_epochs, body_frozen in ((frozen, True), (epochs - frozen, False)):
            if phase_epochs == 0:
                continue
            if frozen:
                set_body_trainable(self, not body_frozen)
            history = train_network(
                self,
                X,
                y,
                sample_weight,
                train=train,
                validation=val,
                seed=seed,
                epochs=phase_epochs,
                initial_epoch=len(self.history_.get("loss", [])),
            )
            for key, values in history.items():
                self.history_.setdefault(key, []).extend(values)
        return self

    def _initialize(self, X, y, train, seed):
        """Class weights, standardisation and a new network, from the training records."""
        self.label_weights_ = (
            balanced_label_weights(y[train])
            if self.class_weight == "balanced"
            else (np.ones(self.n_classes_), np.ones(self.n_classes_))
        )
        source = self._pretrained_start(X) if self.init is not None else None
        keep_statistics = self._fine_tuning("standardization", "init_standardization", True)
        if self.standardize and source is not None and keep_statistics:
            self.mean_, self.scale_ = source.mean_, source.scale_
        elif self.standardize:
            mean, scale = lead_statistics(X, train)
            self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
        else:
            self.mean_ = np.zeros(self.n_leads_in_, dtype=np.float32)
            self.scale_ = np.ones(self.n_leads_in_, dtype=np.float32)
        self.hyperparameters_ = (
            source.hyperparameters_
            if source is not None
            else check_hyperparameters(
                self.architecture,
                {
                    **{
                        k: getattr(self, k, None) for k in ARCHITECTURES[self.architecture].defaults
                    },
                    **self._routed("model"),
                },
            )
        )
        self.model_ = build_compiled_network(self, seed)
        if source is not None:
            transfer_body_weights(source.model_, self.model_)

    def _fine_tuning(self, name, old_name, default):
        """The fine-tuning setting ``init__<name>``, or its constructor parameter of before
        0.5 (``old_name``, deprecated), or ``default``."""
        return self._routed("init").get(name, getattr(self, old_name, default))

    def _routed(self, prefix):
        """Routed parameters ``<prefix>__<name>``, as ``{name: value}``."""
        start = len(prefix) + 2
        return {k[start:]: v for k, v in vars(self).items() if k.startswith(prefix + "__")}

    # -- validation ------------------------------------------------------------------------

    def _validate_X(self, X, *, reset, check_signals=True):
        """Return X as a (n_records, n_windows, timesteps, leads) array or view.

        Records (3-D input) are one window each, except at predict time for a
        classifier trained on crops with ``crop_inference="sliding"``: records
        longer than ``crop_size`` are then cut into crops every ``crop_stride``
        timesteps. ``check_signals=False``
        skips the signal checks, for records this fit has already checked.
        """
        X = check_ecg_array(X, allow_windows=True, allow_2d=True)
        if check_signals:
            # Whole records, before any cropping: a crop is too short to show a heart rate.
            warn_signal_quality(X, self.sampling_rate, action=self.signal_checks)
        if reset:
            self.n_features_in_, self.n_leads_in_ = X.shape[-2:]
            return X if X.ndim == 4 else X[:, np.newaxis]
        if X.shape[-1] != self.n_leads_in_:
            config = getattr(self, "pretrained_config_", None)
            # A legacy release's leads are those of the records its windower takes.
            leads = None
            if config is not None and not config.preprocessing:
                leads = list(config.input.leads)
            raise ValueError(
                f"X has {X.shape[-1]} leads, but {type(self).__name__} was fitted with "
                f"{self.n_leads_in_} leads"
                + (
                    f": {' '.join(leads)}, in this order. Select them from 12-lead records "
                    f"with PTBXLWindower(leads={leads})."
                    if leads
                    else "."
                )
            )
        if X.ndim == 3:
            check_min_length(X.shape[1], self.min_timesteps_, self.sampling_rate)
        stride = self._prediction_stride()
        if X.ndim == 3 and stride is not None and X.shape[1] > self.crop_size:
            X = sliding_windows(X, self.crop_size, stride)
        expected = self.model_.input_shape[1]
        if X.ndim == 3 and expected is not None and X.shape[1] > expected:
            # A network of fixed input length scores a longer record by overlapping windows
            # of its length, half a window apart, aggregated as windows are.
            X = sliding_windows(X, expected, max(1, expected // 2))
        if expected is not None and X.shape[-2] != expected:
            raise ValueError(
                f"X has {X.shape[-2]} features, but {type(self).__name__} is expecting "
                f"{expected} features as input: records must have the number of timesteps "
                "the network was built for."
            )
        return X if X.ndim == 4 else X[:, np.newaxis]

    @property
    def min_timesteps_(self):
        """Fewest timesteps of a record this fitted classifier scores, at its ``sampling_rate``.

        The shortest it was trained on: its training crop (``crop_size``), else the
        input length of a network of fixed length, else the length of the records
        (or windows) it was fitted on.
        """
        check_is_fitted(self, "model_")
        return self.crop_size or self.model_.input_shape[1] or self.n_features_in_

    @property
    def min_duration_(self):
        """``min_timesteps_`` in seconds."""
        return self.min_timesteps_ / self.sampling_rate

    def _model_leads(self):
        """The names of the leads this classifier takes, in its order; ``None`` if unknown."""
        config = getattr(self, "pretrained_config_", None)
        if config is not None and not config.preprocessing:
            return list(config.input.leads)
        return list(LEADS) if self.n_leads_in_ == len(LEADS) else None

    def _training_records(self, X, sampling_rate, lead_names):
        """Records at ``sampling_rate`` with ``lead_names`` as the network to fit takes them:
        the leads of the network ``init`` names (else PTB-XL's 12), at this classifier's
        rate. ``X`` itself when neither is given."""
        if sampling_rate is None and lead_names is None:
            return X
        X = check_ecg_array(X, allow_windows=True, allow_2d=True)
        leads = list(LEADS)
        if lead_names is not None and self.init is not None:
            from . import hub

            directory = hub.resolve_model_dir(self.init)
            leads = list(hub.read_model_config(directory, architectures=None).input.leads)
        rate = self.sampling_rate if sampling_rate is None else check_sampling_rate(sampling_rate)
        return self._as_network_takes(X, rate, lead_names, leads)

    def _adapt_records(self, X, sampling_rate, lead_names, *, check_signals):
        """Records at ``sampling_rate`` with ``lead_names`` as this classifier takes them.

        The signal checks run first, on the records as given and at their stated
        rate: a rate that disagrees with the content still shows as an implausible
        heart rate.
        """
        X = check_ecg_array(X, allow_windows=True, allow_2d=True)
        rate = self.sampling_rate if sampling_rate is None else check_sampling_rate(sampling_rate)
        if check_signals:
            warn_signal_quality(X, rate, action=self.signal_checks)
        return self._as_network_takes(X, rate, lead_names, self._model_leads())

    def _as_network_takes(self, X, rate, lead_names, leads):
        """``X`` (checked) at ``rate`` with ``lead_names``: its columns for ``leads``, by name,
        resampled to this classifier's rate."""
        if lead_names is not None:
            if leads is None:
                raise ValueError(
                    f"lead_names was given, but this {type(self).__name__} does not know the "
                    f"names of its {self.n_leads_in_} leads: give X its leads in training order."
                )
            X = select_leads(X, lead_names, leads)
        return resample(X, rate, self.sampling_rate)

    def _prediction_stride(self):
        """Timesteps between the crops prediction cuts; ``None`` when it takes whole records.

        The one rule, for :meth:`predict_proba` and for the exported graph.
        """
        if self.crop_size is None or self.crop_inference == "whole":
            return None
        return self.crop_stride or max(1, self.crop_size // 2)

    def _validate_y(self, y, n_records, *, reset, require_both_values):
        y, names, binary = check_training_target(
            y,
            n_records,
            class_names=self.class_names,
            require_both_values=require_both_values,
            estimator_name=type(self).__name__,
        )
        if not reset:
            if y.shape[1] != self.n_classes_:
                raise ValueError(
                    f"y has {y.shape[1]} classes, but {type(self).__name__} was fitted with "
                    f"{self.n_classes_} classes."
                )
            return y
        self.binary_, self.n_classes_ = binary, y.shape[1]
        if binary:
            self.classes_ = np.array([0, 1])
        else:
            self.classes_ = names if names is not None else np.arange(self.n_classes_)
        return y
