"""CardioNetClassifier: a Keras 1D-CNN as a multi-label scikit-learn classifier."""

import numbers
import keras
import numpy as np
from scikeras._utils import get_optimizer_class, try_to_convert_strings_to_classes, unflatten_params
from scikeras.utils.random_state import tensorflow_random_state
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._architectures import ARCHITECTURES, build_network
from ._constants import SUPERCLASSES
from ._losses import WeightedBinaryCrossentropy, balanced_label_weights
from ._validation import check_ecg_array, check_multilabel_y, check_thresholds

# Guards the standardisation of a lead that is flat over the whole training set.
_MIN_SCALE = 1e-6


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
    architecture : {"cardionet"}, default="cardionet"
        Network to build; see the table in the user guide.
    filters, kernel_sizes : tuple of int, default=None
        Filters and kernel size of each convolutional block. ``None`` takes the
        architecture's default, ``(32, 64, 128)`` and ``(7, 5, 3)`` for
        ``"cardionet"``.
    dense_units : int, default=None
        Width of the hidden dense layer (``256`` for ``"cardionet"``).
    dropout : float, default=None
        Dropout rate before the output layer (``0.5`` for ``"cardionet"``).
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
        ``0`` trains for exactly ``epochs`` epochs.
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
    mean_, scale_ : ndarray of shape (n_leads_in_,)
        Per-lead standardisation learned in fit (zeros and ones when
        ``standardize=False``).
    history_ : dict of str to list
        Loss (and validation loss) per epoch.

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
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

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
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        # scikeras keeps routed parameters (``optimizer__beta_1``) as attributes.
        vars(self).update(kwargs)
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

    def _check_model_param(self):
        # scikeras builds from ``model`` or ``build_fn``; ours come from ``architecture``.
        return self._build_network

    def _build_network(self):
        model = build_network(
            self.architecture,
            (self._input_length, self.n_leads_in_),
            self.n_classes_,
            filters=self.filters,
            kernel_sizes=self.kernel_sizes,
            dense_units=self.dense_units,
            dropout=self.dropout,
        )
        optimizer = unflatten_params(
            items=try_to_convert_strings_to_classes(self.optimizer, get_optimizer_class),
            params={
                "learning_rate": self.learning_rate,
                **{k[len("optimizer__"):]: v for k, v in vars(self).items()
                   if k.startswith("optimizer__")},
            },
        )
        model.compile(optimizer=optimizer, loss=WeightedBinaryCrossentropy(*self.label_weights_))
        return model

    @property
    def _input_length(self):
        # The published CNN flattens its feature map, so its input length is fixed;
        # the length seen in fit is the one it is built for.
        return self.n_features_in_

    # -- validation ------------------------------------------------------------------------

    def _validate_X(self, X, *, reset):
        """Return X as (n_records * n_windows, timesteps, leads) and n_windows (None for 3-D)."""
        X = check_ecg_array(X, allow_windows=True, allow_2d=True)
        n_windows = X.shape[1] if X.ndim == 4 else None
        n_timesteps, n_leads = X.shape[-2:]
        if reset:
            self.n_features_in_ = n_timesteps
            self.n_leads_in_ = n_leads
            self.input_ndim_ = X.ndim
        else:
            if n_leads != self.n_leads_in_:
                raise ValueError(
                    f"X has {n_leads} leads, but {type(self).__name__} was fitted with "
                    f"{self.n_leads_in_} leads."
                )
            expected = self.model_.input_shape[1]
            if expected is not None and n_timesteps != expected:
                raise ValueError(
                    f"X has {n_timesteps} features, but {type(self).__name__} is expecting "
                    f"{expected} features as input: records must have the number of timesteps "
                    "seen in fit."
                )
        if n_windows is not None:
            X = X.reshape(-1, n_timesteps, n_leads)
        return X, n_windows

    def _validate_y(self, y, n_records, *, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        binary = np.asarray(y).ndim == 1
        y, names = check_multilabel_y(y, n_samples=n_records)
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

    def fit(self, X, y, sample_weight=None):
        """Train the network on ECG records and their labels.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or \
                (n_records, n_windows, n_timesteps, n_leads)
            ECG records (or windows of them). 2-D input is one lead.
        y : array-like or DataFrame of shape (n_records, n_classes) or (n_records,)
            0/1 label indicator matrix.
        sample_weight : array-like of shape (n_records,), default=None
            Weight of each record (shared by its windows).

        Returns
        -------
        self : CardioNetClassifier
            The fitted classifier.
        """
        self._validate_params()
        return self._fit(X, y, sample_weight, warm=self.warm_start and hasattr(self, "model_"),
                         epochs=self.epochs, validation_split=self.validation_split)

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
        return self._fit(X, y, sample_weight, warm=hasattr(self, "model_"), epochs=1,
                         validation_split=0.0)

    def _fit(self, X, y, sample_weight, *, warm, epochs, validation_split):
        check_thresholds(self.threshold, np.size(self.threshold))
        X, n_windows = self._validate_X(X, reset=not warm)
        n_records = X.shape[0] // (n_windows or 1)
        y = self._validate_y(y, n_records, reset=not warm)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, np.empty((n_records, 0)), dtype=np.float32,
                ensure_non_negative=True,
            )
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max)) if self.random_state is not None else None
        train, val = _split_records(n_records, validation_split, rng)

        per = n_windows or 1

        def rows(records):
            # Windows of one record stay together, on one side of the split.
            return (records[:, None] * per + np.arange(per)).reshape(-1)

        if not warm:
            self.label_weights_ = (
                balanced_label_weights(y[train]) if self.class_weight == "balanced"
                else (np.ones(self.n_classes_), np.ones(self.n_classes_))
            )
            if self.standardize:
                self.mean_, self.scale_ = _lead_statistics(X[rows(train)])
            else:
                self.mean_ = np.zeros(self.n_leads_in_, dtype=np.float32)
                self.scale_ = np.ones(self.n_leads_in_, dtype=np.float32)
            self._random_state = seed
            self.model_ = self._build_keras_model()
            self._initialize_callbacks()

        callbacks = list(self._fit_callbacks)
        fit_kwargs = {}
        if len(val):
            fit_kwargs["validation_data"] = (
                self._standardized(X[rows(val)]), np.repeat(y[val], per, axis=0),
                None if sample_weight is None else np.repeat(sample_weight[val], per),
            )
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True,
            ))
        X_train = self._standardized(X[rows(train)] if len(val) else X)
        y_train = np.repeat(y[train], per, axis=0)
        w_train = None if sample_weight is None else np.repeat(sample_weight[train], per)
        fit_kwargs.update({k[len("fit__"):]: v for k, v in vars(self).items()
                           if k.startswith("fit__")})

        initial_epoch = len(self.history_["loss"]) if warm else 0

        def run():
            return self.model_.fit(
                X_train, y_train, sample_weight=w_train, batch_size=self.batch_size,
                shuffle=True, callbacks=callbacks, verbose=self.verbose,
                initial_epoch=initial_epoch, epochs=initial_epoch + epochs, **fit_kwargs,
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
        X, n_windows = self._validate_X(X, reset=False)
        predict_kwargs = {k[len("predict__"):]: v for k, v in vars(self).items()
                          if k.startswith("predict__")}
        predict_kwargs.setdefault("batch_size", max(self.batch_size, 256))
        proba = self.model_.predict(self._standardized(X), verbose=0, **predict_kwargs)
        if n_windows is not None:
            proba = proba.reshape(-1, n_windows, proba.shape[-1])
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


def _split_records(n_records, validation_split, rng):
    """Random train and validation record indices; no validation when a side would be empty."""
    n_val = int(round(validation_split * n_records))
    if n_val == 0 or n_val == n_records:
        return np.arange(n_records), np.array([], dtype=int)
    order = rng.permutation(n_records)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _lead_statistics(X):
    """Per-lead mean and standard deviation over records and time, in float64 to stay exact."""
    mean = X.mean(axis=(0, 1), dtype=np.float64)
    scale = X.std(axis=(0, 1), dtype=np.float64)
    return mean.astype(np.float32), np.maximum(scale, _MIN_SCALE).astype(np.float32)
