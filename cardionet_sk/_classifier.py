"""CardioNetClassifier: a Keras 1D-CNN as a multi-label scikit-learn classifier."""

import inspect
import json
import numbers
import tempfile
from pathlib import Path

import keras
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scikeras._utils import get_optimizer_class, try_to_convert_strings_to_classes, unflatten_params
from scikeras.utils.random_state import tensorflow_random_state
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from . import _hub
from ._architectures import ARCHITECTURES, build_network
from ._batches import TrainingBatches
from ._callbacks import TimeBudget, ValidationMacroAUC, learning_rate_schedule
from ._constants import LEADS, SUPERCLASSES
from ._losses import WeightedBinaryCrossentropy, balanced_label_weights
from ._statistics import lead_statistics
from ._validation import check_ecg_array, check_multilabel_y, check_thresholds
from ._version import __version__
from ._windowing import PTBXLWindower

# Windows per call of keras.Model.predict: large enough to keep the per-call overhead small.
_PREDICT_CHUNK = 8192


class CardioNetClassifier(ClassifierMixin, BaseWrapper):
    """Multi-label 12-lead ECG classifier: a Keras 1D-CNN behind the scikit-learn API.

    The default network is the published CardioNet CNN (4,135,717 trainable
    parameters for 10 s records at 100 Hz and five classes). It is built on
    :class:`scikeras.wrappers.BaseWrapper`, so keyword arguments routed with the
    ``model__``, ``optimizer__``, ``fit__`` and ``predict__`` prefixes reach the
    network builder, the optimizer, ``keras.Model.fit`` and
    ``keras.Model.predict``.

    Parameters
    ----------
    architecture : {"cardionet", "resnet1d_wang"}, default="cardionet"
        Network to build: ``"cardionet"``, the published CNN (fixed input
        length), or ``"resnet1d_wang"``, the 1D ResNet of the PTB-XL benchmark
        (fully convolutional: any record length). Hyper-parameters an
        architecture has beyond the ones below are routed with ``model__``, e.g.
        ``model__stem_kernel_size=7``.
    filters, kernel_sizes : tuple of int, default=None
        ``"cardionet"``: filters and kernel size of each convolutional block,
        ``(32, 64, 128)`` and ``(7, 5, 3)`` by default. ``"resnet1d_wang"``:
        filters of each residual block, ``(128, 128, 128)``, and the kernel
        sizes of the two convolutions of a block, ``(5, 3)``. ``None`` takes the
        architecture's default.
    dense_units : int, default=None
        Width of the hidden dense layer (``256`` for ``"cardionet"``, ``128``
        for ``"resnet1d_wang"``).
    dropout : float, default=None
        Dropout rate before the output layer (``0.5`` for both).
    optimizer : str or keras.optimizers.Optimizer class, default="adam"
        Optimizer; further settings go through ``optimizer__<name>``.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer.
    epochs : int, default=20
        Maximum number of passes over the training records.
    batch_size : int, default=32
        Windows per gradient step, and per prediction batch.
    class_weight : {"balanced"} or None, default="balanced"
        ``"balanced"`` weighs each label's positive and negative terms of the
        binary cross-entropy by ``n / (2 * count)`` on the training data, so
        that rare classes such as HYP are not ignored. ``None`` is the plain
        binary cross-entropy.
    validation_split : float in [0, 1), default=0.2
        Fraction of the training *records* (all windows of a record together),
        drawn at random with ``random_state``, held out for early stopping.
        With ``groups`` given to :meth:`fit`, whole groups (e.g. patients) are
        held out instead. ``0`` trains for exactly ``epochs`` epochs.
    patience : int, default=5
        Epochs without improvement of the validation loss before training
        stops; the weights of the best epoch are restored.
    standardize : bool, default=True
        Scale each lead by the mean and standard deviation learned on the
        training records (``mean_``, ``scale_``) before the network, at fit and
        predict time alike, so raw millivolt records go in.
    threshold : float or array-like of shape (n_classes,), default=0.5
        Decision threshold per class used by :meth:`predict`.
    window_aggregation : {"mean", "max"}, default="mean"
        How the probabilities of the windows of one record, for 4-D input, are
        combined into the record's probability.
    crop_size : int, default=None
        Train on one random crop of ``crop_size`` timesteps of every record (or
        window) per epoch, drawn anew each epoch, instead of the whole record.
        At predict time, longer records are cut into crops every ``crop_stride``
        timesteps whose probabilities are aggregated with
        ``window_aggregation`` (the PTB-XL benchmark's evaluation: 250-sample
        crops, stride 125, maximum).
    crop_stride : int, default=None
        Timesteps between the crops of a record at predict time; ``None`` is
        ``crop_size // 2``.
    max_shift : int, default=0
        Augmentation: roll every training record circularly by a random number
        of timesteps in ``[-max_shift, max_shift]``, drawn anew each epoch.
    lr_schedule : {"cosine", "one_cycle"}, default=None
        Learning rate per epoch: ``None`` keeps ``learning_rate``; ``"cosine"``
        decays it to zero over ``epochs``; ``"one_cycle"`` warms up from
        ``learning_rate / 25`` over 30 % of the epochs, then decays (the PTB-XL
        benchmark's schedule).
    monitor : {"val_loss", "val_macro_auc"}, default="val_loss"
        What early stopping watches on the validation records: their loss,
        or the macro ROC AUC of whole records as :meth:`predict_proba` sees them
        (for a network with a fixed input length trained on crops, give windowed
        records).
    max_time : float, default=None
        Training time budget in seconds: training stops after the first epoch
        that ends past it (the best weights are still restored).
    callbacks : list of keras.callbacks.Callback, default=None
        Extra callbacks for ``keras.Model.fit``.
    warm_start : bool, default=False
        Keep training the existing network on the next :meth:`fit`.
    random_state : int, numpy.random.RandomState or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. An int makes fit deterministic on the CPU.
    verbose : int, default=0
        Keras verbosity.
    **kwargs
        Routed parameters, e.g. ``optimizer__beta_1=0.8``.

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        Class names: the columns of a DataFrame ``y``, else
        ``NORM, MI, STTC, CD, HYP`` for five classes, else ``0 .. n_classes - 1``.
        For a 1-D binary ``y`` it is ``[0, 1]``.
    n_classes_ : int
        Number of labels the network predicts.
    n_features_in_ : int
        Timesteps per record (or per window) seen in fit.
    n_leads_in_ : int
        Leads per record seen in fit.
    mean_, scale_ : ndarray of shape (`n_leads_in_`,)
        Per-lead standardisation learned in fit (zeros and ones when
        ``standardize=False``).
    history_ : dict of str to list
        Loss (and validation loss) per epoch.
    validation_records_ : ndarray of int
        Rows of the training ``X`` held out for early stopping; empty without
        validation. Useful for tuning thresholds on records the weights never
        saw, as ``benchmarks/thresholds_ptbxl.py`` does (with ``groups``, of
        patients the weights never saw either).

    Notes
    -----
    Input ``X`` is ``(n_records, n_timesteps, n_leads)`` or, from a windowing
    transformer such as :class:`PTBXLWindower`,
    ``(n_records, n_windows, n_timesteps, n_leads)``: every window is trained
    with its record's labels and window probabilities are aggregated back to
    one row per record. A 2-D ``X`` is read as single-lead records
    ``(n_records, n_timesteps)``.

    ``y`` is an ``(n_records, n_classes)`` 0/1 indicator matrix or DataFrame. A
    1-D 0/1 vector makes a binary classifier whose :meth:`predict_proba` has
    the scikit-learn binary shape ``(n_records, 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from cardionet_sk import CardioNetClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 100, 12)).astype("float32")
    >>> y = rng.integers(0, 2, size=(20, 5))
    >>> clf = CardioNetClassifier(filters=(4,), kernel_sizes=(3,), dense_units=8,
    ...                           epochs=1, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 5)
    >>> clf.classes_.tolist()
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "filters": ["array-like", None],
        "kernel_sizes": ["array-like", None],
        "dense_units": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "optimizer": [str, type, keras.optimizers.Optimizer],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), None],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "patience": [Interval(numbers.Integral, 0, None, closed="left")],
        "standardize": ["boolean"],
        "threshold": [Interval(numbers.Real, None, None, closed="neither"), "array-like"],
        "window_aggregation": [StrOptions({"mean", "max"})],
        "crop_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "crop_stride": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "max_shift": [Interval(numbers.Integral, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "one_cycle"}), None],
        "monitor": [StrOptions({"val_loss", "val_macro_auc"})],
        "max_time": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Fitted attributes, declared for mypy only: annotations create no class attributes, so
    # ``hasattr(self, "model_")`` and ``check_is_fitted`` behave as before.
    model_: keras.Model
    n_classes_: int
    history_: dict[str, list[float]]

    def __init__(
        self,
        architecture="cardionet",
        *,
        filters=None,
        kernel_sizes=None,
        dense_units=None,
        dropout=None,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=20,
        batch_size=32,
        class_weight="balanced",
        validation_split=0.2,
        patience=5,
        standardize=True,
        threshold=0.5,
        window_aggregation="mean",
        crop_size=None,
        crop_stride=None,
        max_shift=0,
        lr_schedule=None,
        monitor="val_loss",
        max_time=None,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.architecture = architecture
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.dense_units = dense_units
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.validation_split = validation_split
        self.patience = patience
        self.standardize = standardize
        self.threshold = threshold
        self.window_aggregation = window_aggregation
        self.crop_size = crop_size
        self.crop_stride = crop_stride
        self.max_shift = max_shift
        self.lr_schedule = lr_schedule
        self.monitor = monitor
        self.max_time = max_time
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        # scikeras keeps routed parameters (``optimizer__beta_1``) as attributes.
        vars(self).update(kwargs)  # type: ignore[attr-defined]  # Any base: mypy picks vars(type)
        if kwargs:
            self._user_params = set(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.random_state is None
        return tags

    # scikeras' own repr prints one parameter per line with tabs; keep sklearn's.
    __repr__ = BaseEstimator.__repr__

    # -- building -------------------------------------------------------------------------

    def _hyperparameters(self):
        """Every hyper-parameter of the architecture, defaults filled in."""
        _, defaults = ARCHITECTURES[self.architecture]
        given = {k: getattr(self, k) for k in defaults if getattr(self, k, None) is not None}
        return {**defaults, **given, **self._routed("model")}

    def _routed(self, prefix):
        """Routed parameters ``<prefix>__<name>``, as ``{name: value}``."""
        start = len(prefix) + 2
        return {k[start:]: v for k, v in vars(self).items() if k.startswith(prefix + "__")}

    def _build_keras_model(self):
        """Build and compile the network, seeded; ``model__`` parameters reach the builder."""

        def build():
            model = build_network(
                self.architecture,
                (self._input_length, self.n_leads_in_),
                self.n_classes_,
                seed=self._random_state,
                **self._hyperparameters(),
            )
            optimizer = unflatten_params(
                items=try_to_convert_strings_to_classes(self.optimizer, get_optimizer_class),
                params={"learning_rate": self.learning_rate, **self._routed("optimizer")},
            )
            model.compile(
                optimizer=optimizer, loss=WeightedBinaryCrossentropy(*self.label_weights_)
            )
            return model

        if self._random_state is None:
            return build()
        with tensorflow_random_state(self._random_state):
            return build()

    @property
    def _input_length(self):
        # The published CNN flattens its feature map, so its input length is fixed: the
        # length of what it is trained on. Fully convolutional networks ignore it.
        return self.crop_size or self.n_features_in_

    # -- validation ------------------------------------------------------------------------

    def _validate_X(self, X, *, reset):
        """Return X as a (n_records, n_windows, timesteps, leads) view.

        Records (3-D input) are one window each, except at predict time for a
        classifier trained on crops: records longer than ``crop_size`` are then
        cut into crops every ``crop_stride`` timesteps.
        """
        X = check_ecg_array(X, allow_windows=True, allow_2d=True)
        n_leads = X.shape[-1]
        if reset:
            self.n_features_in_ = X.shape[-2]
            self.n_leads_in_ = n_leads
            return X if X.ndim == 4 else X[:, np.newaxis]
        if n_leads != self.n_leads_in_:
            raise ValueError(
                f"X has {n_leads} leads, but {type(self).__name__} was fitted with "
                f"{self.n_leads_in_} leads."
            )
        if X.ndim == 3 and self.crop_size is not None and X.shape[1] > self.crop_size:
            stride = self.crop_stride or max(1, self.crop_size // 2)
            X = sliding_window_view(X, self.crop_size, axis=1)[:, ::stride].transpose(0, 1, 3, 2)
        expected = self.model_.input_shape[1]
        if expected is not None and X.shape[-2] != expected:
            raise ValueError(
                f"X has {X.shape[-2]} features, but {type(self).__name__} is expecting "
                f"{expected} features as input: records must have the number of timesteps "
                "the network was built for."
            )
        return X if X.ndim == 4 else X[:, np.newaxis]

    def _validate_y(self, y, n_records, *, reset, require_both_values):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        binary = np.asarray(y).ndim == 1
        y, names = check_multilabel_y(y, n_samples=n_records)
        if require_both_values:
            positives = y.sum(axis=0)
            constant = (positives == 0) | (positives == n_records)
            # A label with one value only has no decision to learn: a network trained
            # on it predicts whatever its initialisation and a few steps give.
            if binary and constant.any():
                raise ValueError(
                    "y contains one class only; a binary classifier needs records of both."
                )
            if constant.any():
                labels = np.flatnonzero(constant) if names is None else np.asarray(names)[constant]
                raise ValueError(
                    f"Every class needs positive and negative examples, but in y the classes "
                    f"{labels.tolist()} take one value only. Drop those columns or gather "
                    "records with both values."
                )
        if not reset:
            if y.shape[1] != self.n_classes_:
                raise ValueError(
                    f"y has {y.shape[1]} classes, but {type(self).__name__} was fitted with "
                    f"{self.n_classes_} classes."
                )
            return y
        self.binary_ = binary
        self.n_classes_ = y.shape[1]
        if self.binary_:
            self.classes_ = np.array([0, 1])
        elif names is not None:
            self.classes_ = names
        elif self.n_classes_ == len(SUPERCLASSES):
            self.classes_ = np.asarray(SUPERCLASSES, dtype=object)
        else:
            self.classes_ = np.arange(self.n_classes_)
        return y

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Train the network on ECG records and their labels.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or \
                (n_records, n_windows, n_timesteps, n_leads)
            ECG records (or windows of them). 2-D input is one lead.
        y : array-like or DataFrame of shape (n_records, n_classes) or (n_records,)
            0/1 label indicator matrix. Every class needs at least one positive
            and one negative record (:meth:`partial_fit` does not ask this of
            a single batch).
        sample_weight : array-like of shape (n_records,), default=None
            Weight of each record (shared by its windows).
        groups : array-like of shape (n_records,), default=None
            Group of each record, e.g. its patient. The validation split then
            holds out whole groups, about ``validation_split`` of the records,
            so that early stopping never judges the network on a patient it
            trains on (PTB-XL has several records of many patients).

        Returns
        -------
        self : CardioNetClassifier
            The fitted classifier.
        """
        self._validate_params()
        return self._fit(
            X,
            y,
            sample_weight,
            warm=self.warm_start and hasattr(self, "model_"),
            epochs=self.epochs,
            validation_split=self.validation_split,
            groups=groups,
        )

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one more epoch on ``(X, y)``, without validation split or early stopping.

        The first call builds the network; later calls keep its weights, the
        standardisation and the class weights of the first call.

        Parameters
        ----------
        X, y, sample_weight
            As in :meth:`fit`.
        classes : None
            Accepted for the signature of scikit-learn's incremental classifiers;
            the columns of ``y`` are the classes.

        Returns
        -------
        self : CardioNetClassifier
            The updated classifier.
        """
        self._validate_params()
        return self._fit(
            X,
            y,
            sample_weight,
            warm=hasattr(self, "model_"),
            epochs=1,
            validation_split=0.0,
            incremental=True,
        )

    def _fit(
        self, X, y, sample_weight, *, warm, epochs, validation_split, groups=None, incremental=False
    ):
        check_thresholds(self.threshold, np.size(self.threshold))
        X = self._validate_X(X, reset=not warm)
        n_records, n_windows = X.shape[:2]
        # A batch of partial_fit may lack a class that the stream as a whole has.
        y = self._validate_y(y, n_records, reset=not warm, require_both_values=not incremental)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight,
                np.empty((n_records, 0)),
                dtype=np.float32,
                ensure_non_negative=True,
            )
        if self.crop_size is not None and self.crop_size > X.shape[2]:
            raise ValueError(
                f"crop_size={self.crop_size} is longer than the {X.shape[2]} "
                "timesteps of the records."
            )
        if groups is not None:
            groups = column_or_1d(groups)
            check_consistent_length(groups, y)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max)) if self.random_state is not None else None
        train, val = _split_records(n_records, validation_split, rng, groups)
        if not warm:
            self.validation_records_ = val

        if not warm:
            self.label_weights_ = (
                balanced_label_weights(y[train])
                if self.class_weight == "balanced"
                else (np.ones(self.n_classes_), np.ones(self.n_classes_))
            )
            if self.standardize:
                mean, scale = lead_statistics(X, train)
                self.mean_, self.scale_ = mean.astype(np.float32), scale.astype(np.float32)
            else:
                self.mean_ = np.zeros(self.n_leads_in_, dtype=np.float32)
                self.scale_ = np.ones(self.n_leads_in_, dtype=np.float32)
            self._random_state = seed
            self.model_ = self._build_keras_model()
            self._initialize_callbacks()

        callbacks = list(self._fit_callbacks)
        fit_kwargs = self._routed("fit")
        if self.lr_schedule is not None:
            callbacks.append(
                keras.callbacks.LearningRateScheduler(
                    learning_rate_schedule(self.lr_schedule, self.learning_rate, self.epochs)
                )
            )
        if len(val):
            fit_kwargs["validation_data"] = self._batches(
                X, y, sample_weight, val, seed=seed, training=False
            )
            if self.monitor == "val_macro_auc":
                callbacks.append(ValidationMacroAUC(self.predict_proba, X[val], y[val]))
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=self.monitor,
                    mode="min" if self.monitor == "val_loss" else "max",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        if self.max_time is not None:
            callbacks.append(TimeBudget(self.max_time))
        fit_kwargs.update(self._training_arguments(X, y, sample_weight, train, seed=seed))
        initial_epoch = len(self.history_["loss"]) if warm else 0

        def run():
            return self.model_.fit(
                callbacks=callbacks,
                verbose=self.verbose,
                initial_epoch=initial_epoch,
                epochs=initial_epoch + epochs,
                **fit_kwargs,
            )

        if seed is None:
            history = run()
        else:
            with tensorflow_random_state(seed):
                history = run()
        if not warm:
            self.history_ = {}
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        return self

    def _batches(self, X, y, sample_weight, records, *, seed, training):
        """Mini-batches of these records, drawn on the fly: windows, crops and shifts are
        never materialised for the whole set. Validation batches keep their order."""
        return TrainingBatches(
            X,
            y,
            sample_weight,
            records,
            batch_size=self.batch_size,
            mean=self.mean_,
            scale=self.scale_,
            seed=seed or 0,
            shuffle=training,
            crop_size=self.crop_size,
            max_shift=self.max_shift if training else 0,
        )

    def _training_arguments(self, X, y, sample_weight, records, *, seed):
        """Data arguments of ``keras.Model.fit`` for the training records."""
        if X.shape[1] > 1 or self.crop_size is not None or self.max_shift:
            return {"x": self._batches(X, y, sample_weight, records, seed=seed, training=True)}
        # Plain records take Keras' fast path for in-memory arrays; no copy without a split.
        selected = slice(None) if len(records) == X.shape[0] else records
        return {
            "x": self._standardized(X[selected, 0]),
            "y": y[selected],
            "sample_weight": None if sample_weight is None else sample_weight[selected],
            "batch_size": self.batch_size,
            "shuffle": True,
        }

    def _standardized(self, X):
        if not self.standardize:
            return X
        return ((X - self.mean_) / self.scale_).astype(np.float32, copy=False)

    # -- prediction ------------------------------------------------------------------------

    def predict_proba(self, X):
        """Probability of each class for each record.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or \
                (n_records, n_windows, n_timesteps, n_leads)
            ECG records, or windows of them whose probabilities are aggregated
            with ``window_aggregation``.

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
            Independent per-class probabilities (rows need not sum to one). For
            a binary classifier, ``(n_records, 2)`` with the positive class last.
        """
        check_is_fitted(self, "model_")
        X = self._validate_X(X, reset=False)
        n_records, n_windows = X.shape[:2]
        predict_kwargs = self._routed("predict")
        predict_kwargs.setdefault("batch_size", max(self.batch_size, 256))
        # Chunks of records bound the memory of flattening (possibly overlapping) windows.
        chunk = max(1, _PREDICT_CHUNK // n_windows)
        proba = np.concatenate(
            [
                self.model_.predict(
                    self._standardized(X[start : start + chunk].reshape(-1, *X.shape[2:])),
                    verbose=0,
                    **predict_kwargs,
                ).reshape(-1, n_windows, self.n_classes_)
                for start in range(0, n_records, chunk)
            ]
        )
        proba = proba.max(axis=1) if self.window_aggregation == "max" else proba.mean(axis=1)
        proba = proba.astype(np.float64)
        if self.binary_:
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X):
        """Labels of each record: probabilities at or above ``threshold``.

        Returns
        -------
        y_pred : ndarray of shape (n_records, n_classes) or (n_records,)
            0/1 indicator matrix (a 1-D 0/1 vector for a binary classifier).
        """
        proba = self.predict_proba(X)
        if self.binary_:
            threshold = check_thresholds(self.threshold, 1)
            return (proba[:, 1] >= threshold[0]).astype(np.int64)
        threshold = check_thresholds(self.threshold, self.n_classes_)
        return (proba >= threshold).astype(np.int64)

    # -- persistence -----------------------------------------------------------------------

    def save_pretrained(
        self,
        save_directory,
        *,
        sampling_rate=100,
        lead_names=None,
        units="mV",
        weights_dtype="float32",
        metrics=None,
        name=None,
        description=None,
        training=None,
        repo_id=None,
    ):
        """Save the fitted model as a folder that :meth:`from_pretrained` loads.

        The folder holds ``config.json``, ``model.weights.h5`` and a
        ``README.md`` model card; nothing in it is pickled or executes code on
        load. Files are written to a temporary folder first and moved into
        place, so an interrupted save does not leave a half-written model.

        Parameters
        ----------
        save_directory : str or path-like
            Folder to write; created if needed, files of the same name replaced.
        sampling_rate : float, default=100
            Sampling rate, in Hz, of the records the model expects.
        lead_names : sequence of str, default=None
            Lead order of the records; ``None`` means PTB-XL's 12 leads for a
            12-lead model and ``lead0, lead1, ...`` otherwise.
        units : str, default="mV"
            Physical unit of the signal.
        weights_dtype : {"float32", "float16"}, default="float32"
            Storage precision of the weights; float16 halves the folder.
        metrics : dict, default=None
            Evaluation results for the model card (``macro_auc``, ``macro_f1``,
            ``per_class`` ...), as written by ``benchmarks/train_pretrained.py``.
        name, description, training, repo_id : str, default=None
            Model card text: title, summary, how it was trained, and the Hub
            repository it is meant for.

        Returns
        -------
        path : pathlib.Path
            The folder written.
        """
        check_is_fitted(self, "model_")
        if weights_dtype not in ("float32", "float16"):
            raise ValueError(
                f"weights_dtype must be 'float32' or 'float16'; got {weights_dtype!r}."
            )
        if lead_names is None:
            lead_names = (
                LEADS
                if self.n_leads_in_ == len(LEADS)
                else [f"lead{i}" for i in range(self.n_leads_in_)]
            )
        if len(lead_names) != self.n_leads_in_:
            raise ValueError(
                f"lead_names has {len(lead_names)} names for a model of {self.n_leads_in_} leads."
            )
        config = {
            "format_version": _hub.FORMAT_VERSION,
            "cardionet_sk_version": __version__,
            "name": name or f"CardioNet ({self.architecture})",
            "description": description,
            "repo_id": repo_id,
            "architecture": self.architecture,
            "hyperparameters": {k: _jsonable(v) for k, v in self._hyperparameters().items()},
            "classes": [_jsonable(c) for c in self.classes_],
            "binary": bool(self.binary_),
            "thresholds": check_thresholds(
                self.threshold, 1 if self.binary_ else self.n_classes_
            ).tolist(),
            "window_aggregation": self.window_aggregation,
            "crop_size": self.crop_size,
            "crop_stride": self.crop_stride,
            "input": {
                "sampling_rate": sampling_rate,
                "n_timesteps": int(self.n_features_in_),
                "leads": list(lead_names),
                "units": units,
            },
            "standardization": (
                {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}
                if self.standardize
                else None
            ),
            "weights": _hub.WEIGHTS_NAME,
            "weights_dtype": weights_dtype,
            "training": training,
            "metrics": metrics,
        }
        _hub.write_atomically(
            save_directory,
            {
                _hub.CONFIG_NAME: lambda p: p.write_text(json.dumps(config, indent=2) + "\n"),
                _hub.WEIGHTS_NAME: lambda p: _hub.write_weights(self.model_, p, weights_dtype),
                _hub.MODEL_CARD_NAME: lambda p: p.write_text(_hub.model_card(config)),
            },
        )
        return Path(save_directory)

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path=None,
        *,
        revision=None,
        cache_dir=None,
        force_download=False,
        token=None,
        local_files_only=False,
    ):
        """Load a fitted model: embedded in the package, from a folder, or from the Hub.

        Parameters
        ----------
        repo_id_or_path : str or path-like, default=None
            ``None`` for the default embedded model (the published CardioNet
            CNN trained on PTB-XL folds 1-8, thresholds tuned on fold 9); the
            name of an embedded model (:func:`list_pretrained`) or the Hub
            repository it is published as; a folder written by
            :meth:`save_pretrained`; or a Hugging Face Hub repository id,
            downloaded with :func:`huggingface_hub.snapshot_download` or read
            from its cache.
        revision : str, default=None
            Hub branch, tag or commit. Given with an embedded model's repository
            id, it fetches from the Hub instead of using the embedded copy.
        cache_dir : str or path-like, default=None
            Hugging Face cache folder.
        force_download : bool, default=False
            Download again even if cached.
        token : str or bool, default=None
            Hugging Face token for private repositories.
        local_files_only : bool, default=False
            Only use the Hugging Face cache (as ``HF_HUB_OFFLINE=1`` does).

        Returns
        -------
        clf : CardioNetClassifier
            A fitted classifier whose :meth:`predict` applies the saved
            thresholds. Records must have the saved length and lead count
            (``pretrained_config_["input"]``); other lengths and sampling rates
            are rejected with an error, not resampled.

            The original CardioNet-XL release (``"sid512206/CardioNet-XL"``,
            one full Keras H5 file) is recognised too: its network is rebuilt
            from this package's architecture code and its weights read with
            h5py, never deserialised. It takes z-scored 2 s windows at 500 Hz;
            ``clf.windower_`` (a :class:`PTBXLWindower`) cuts 10 s 500 Hz
            records into them: ``clf.predict(clf.windower_.fit_transform(X))``.

        Raises
        ------
        FileNotFoundError
            A folder without ``config.json`` or a config naming a missing file.
        ValueError
            An unknown format version or architecture, or weights whose names or
            shapes do not match the config.
        OSError
            A repository id that is not cached while the Hub is unreachable.

        Examples
        --------
        >>> from cardionet_sk import CardioNetClassifier
        >>> from cardionet_sk.datasets import load_sample
        >>> clf = CardioNetClassifier.from_pretrained()
        >>> clf.predict_proba(load_sample().data).shape[1]
        5
        """
        directory = _hub.resolve_model_dir(
            repo_id_or_path,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            token=token,
            local_files_only=local_files_only,
        )
        config = _hub.read_config(directory)
        own = set(inspect.signature(cls).parameters)
        clf = cls(
            config["architecture"],
            **{(k if k in own else f"model__{k}"): v for k, v in config["hyperparameters"].items()},
            threshold=config["thresholds"],
            window_aggregation=config["window_aggregation"],
            crop_size=config.get("crop_size"),
            crop_stride=config.get("crop_stride"),
            standardize=config["standardization"] is not None,
        )
        spec = config["input"]
        clf.n_features_in_ = spec["n_timesteps"]
        clf.n_leads_in_ = len(spec["leads"])
        clf.binary_ = config["binary"]
        clf.n_classes_ = 1 if clf.binary_ else len(config["classes"])
        clf.classes_ = np.asarray(config["classes"], dtype=object if not clf.binary_ else None)
        standardization = config["standardization"]
        clf.mean_ = np.asarray(
            standardization["mean"] if standardization else np.zeros(clf.n_leads_in_),
            dtype=np.float32,
        )
        clf.scale_ = np.asarray(
            standardization["scale"] if standardization else np.ones(clf.n_leads_in_),
            dtype=np.float32,
        )
        clf.label_weights_ = (np.ones(clf.n_classes_), np.ones(clf.n_classes_))
        clf.history_ = {}
        clf.pretrained_config_ = config
        clf._random_state = None
        clf.model_ = clf._build_keras_model()
        clf._initialize_callbacks()
        if config.get("weights_format") == "legacy_h5":
            _hub.assign_legacy_h5_weights(clf.model_, directory / config["weights"])
        else:
            _hub.read_weights(clf.model_, directory / config["weights"])
        if config.get("preprocessing"):
            clf.windower_ = PTBXLWindower(**config["preprocessing"])
        return clf

    def push_to_hub(
        self,
        repo_id,
        *,
        private=None,
        token=None,
        commit_message="Upload CardioNet model",
        **save_kwargs,
    ):
        """Publish the model on the Hugging Face Hub.

        Writes the :meth:`save_pretrained` folder to a temporary directory,
        creates the repository if needed (:meth:`huggingface_hub.HfApi.create_repo`)
        and uploads the folder (:meth:`huggingface_hub.HfApi.upload_folder`).

        Parameters
        ----------
        repo_id : str
            ``namespace/name`` of the Hub repository.
        private : bool, default=None
            Visibility of a newly created repository.
        token : str, default=None
            Hugging Face token with write access.
        commit_message : str, default="Upload CardioNet model"
            Message of the Hub commit.
        **save_kwargs
            Passed to :meth:`save_pretrained` (``metrics``, ``weights_dtype`` ...).

        Returns
        -------
        commit_info : huggingface_hub.CommitInfo
        """
        from huggingface_hub import HfApi

        api = HfApi(token=token)
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, repo_id=repo_id, **save_kwargs)
            api.create_repo(repo_id, private=private, exist_ok=True)
            return api.upload_folder(
                repo_id=repo_id, folder_path=folder, commit_message=commit_message
            )


def _jsonable(value):
    """Tuples and numpy scalars as plain JSON values."""
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _split_records(n_records, validation_split, rng, groups=None):
    """Random train and validation record indices; no validation when a side would be empty.

    With ``groups``, whole groups in random order go to validation until it
    holds at least ``validation_split`` of the records.
    """
    n_val = int(round(validation_split * n_records))
    no_validation = np.arange(n_records), np.array([], dtype=int)
    if n_val == 0 or n_val == n_records:
        return no_validation
    if groups is None:
        order = rng.permutation(n_records)
    else:
        _, group_of_record = np.unique(groups, return_inverse=True)
        rank_of_group = rng.permutation(group_of_record.max() + 1)
        rank = rank_of_group[group_of_record]
        # Records sorted by the random rank of their group, so that each group's records
        # are contiguous; the cut then moves to the end of the group it falls in.
        order = np.argsort(rank, kind="stable")
        n_val = int(np.searchsorted(rank[order], rank[order[n_val - 1]], side="right"))
        if n_val == n_records:
            return no_validation
    return np.sort(order[n_val:]), np.sort(order[:n_val])
