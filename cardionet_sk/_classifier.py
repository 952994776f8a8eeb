"""CardioNetClassifier: a Keras network as a multi-label scikit-learn classifier.

The class keeps the scikit-learn surface and delegates: validation and the
initial state of training to :mod:`cardionet_sk._training`, the networks, their
training loop and batches to :mod:`cardionet_sk._keras`, windows and their
aggregation to :mod:`cardionet_sk._windowing`, thresholds to
:mod:`cardionet_sk._thresholds` and the saved-model schema to
:mod:`cardionet_sk.hub`.
"""

import difflib
import numbers
import os
import warnings

import keras
import numpy as np
from scikeras.wrappers import BaseWrapper
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ._calibration_maps import apply_calibration, fit_calibration_maps
from ._compat import Interval, StrOptions
from ._keras.architectures import (
    ARCHITECTURES,
    describe_defaults,
)
from ._keras.inference import predict_batches
from ._pretrained import PretrainedMixin
from ._thresholds import apply_thresholds
from ._training import TrainingMixin
from ._validation import check_test_time_shifts, check_thresholds
from ._windowing import predict_windows

# Windows per call of keras.Model.predict: large enough to keep the per-call overhead small.
_PREDICT_CHUNK = 8192


class CardioNetClassifier(ClassifierMixin, TrainingMixin, PretrainedMixin, BaseWrapper):
    """Multi-label 12-lead ECG classifier: a Keras 1D-CNN behind the scikit-learn API.

    The default network is the published CardioNet CNN (4,135,717 trainable
    parameters for 10 s records at 100 Hz and five classes). It is built on
    :class:`scikeras.wrappers.BaseWrapper`, so keyword arguments routed with the
    ``model__``, ``optimizer__`` and ``fit__`` prefixes reach the network
    builder, the optimizer and ``keras.Model.fit``; ``predict__batch_size``
    sets the windows per call of the network at predict time.

    Parameters
    ----------
    architecture : {"cardionet", "resnet1d_wang", "inception1d", "xresnet1d"}, \
            default="cardionet"
        Network to build: ``"cardionet"``, the published CNN (fixed input
        length), or one of the PTB-XL benchmark's fully convolutional networks
        (any record length): ``"resnet1d_wang"``, its 1D ResNet;
        ``"inception1d"``; ``"xresnet1d"``, a bottleneck ResNet whose
        ``model__depth`` is 18, 34, 50, 101 or 152.

        The hyper-parameters of an architecture are routed with ``model__``,
        e.g. ``model__filters=(32, 64)``, ``model__dense_units=64`` or
        ``model__stem_kernel_size=7``; any not given takes the
        architecture's default. The defaults, declared once by each
        architecture, are:

        ARCHITECTURE_DEFAULTS

        After :meth:`fit`, ``hyperparameters_`` holds the values used.
        (``filters``, ``kernel_sizes``, ``dense_units`` and ``dropout`` were
        constructor parameters until 0.5: given so, they still work, with a
        ``FutureWarning`` at :meth:`fit`.)
    optimizer : str or keras.optimizers.Optimizer class, default="adam"
        Optimizer; further settings go through ``optimizer__<name>``. With
        ``optimizer__use_ema=True`` (Keras' exponential moving average of the
        weights, ``optimizer__ema_momentum`` a step) the averaged weights are
        the network: validated at each epoch, kept by early stopping, fitted.
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
    calibration : bool, default=True
        Whether :meth:`predict_proba` applies the fitted calibration maps,
        ``calibration_maps_`` (those of a saved model, or fitted by
        :meth:`fit_calibration`); ``False`` gives the network's own scores.
        A classifier without maps gives the network's scores either way.
        (Until 0.5 this parameter held the maps themselves; a list given
        here is still used, and ``None`` means ``False``, with a
        ``FutureWarning``.)
    window_aggregation : {"mean", "max"} or callable, default="mean"
        How the probabilities of the windows of one record, for 4-D input, are
        combined into the record's probability. A callable is called as
        ``window_aggregation(proba, axis=1)`` on the ``(n_records, n_windows,
        n_classes)`` window probabilities, e.g. :func:`numpy.median`; a model
        with a callable cannot be saved with :meth:`save_pretrained`.
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
    crop_inference : {"sliding", "whole"}, default="sliding"
        How a classifier trained on crops predicts records longer than
        ``crop_size``: ``"sliding"`` cuts them into overlapping crops as above;
        ``"whole"`` passes each whole record through the network once, which
        only a network without a fixed input length (global pooling, e.g.
        ``"resnet1d_wang"``) can take, and which costs ``n_timesteps`` instead
        of ``n_crops * crop_size`` timesteps of computation.
    max_shift : int, default=0
        Augmentation: roll every training record circularly by a random number
        of timesteps in ``[-max_shift, max_shift]``, drawn anew each epoch.
    test_time_shifts : array-like of int, default=None
        Test-time augmentation: :meth:`predict_proba` averages the network's
        probabilities of every window it takes (the whole record, or each
        crop) rolled circularly by each of these numbers of timesteps, before
        windows are aggregated and calibration maps applied; e.g. ``(0, 250,
        500, 750)`` for a network trained with ``max_shift``. Each shift costs
        one more pass of the network. ``None`` predicts each window once.
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
    init : str or path-like, default=None
        Fine-tune a pretrained network: any name, folder or Hub id
        :meth:`from_pretrained` accepts. :meth:`fit` starts from its weights
        (its ``architecture`` must match this one's; its hyper-parameters are
        used) with a new output layer for the columns of ``y``, and checks that
        the records match its input contract (leads, length, ``sampling_rate``).

        Fine-tuning has two routed settings: ``init__freeze_epochs`` (int,
        default 0), epochs that train only the new output layer, the
        pretrained body frozen, before the whole network trains; and
        ``init__standardization`` (bool, default True), whether to use the
        pretrained model's per-lead statistics or learn them from the
        training records. (``freeze_epochs`` and ``init_standardization`` as
        constructor parameters still work, with a ``FutureWarning``.)
    sampling_rate : float, default=100
        Sampling rate, in Hz, of the records (or windows) the classifier sees;
        used by the signal checks and written by :meth:`save_pretrained`.
    signal_checks : bool or "error", default=True
        Check the records given to :meth:`fit`, :meth:`predict` and
        :meth:`predict_proba` for signs of wrong units, flat or clipped leads
        and a wrong sampling rate (:func:`check_signal_quality`), with one
        :class:`SignalQualityWarning` per call naming the records. ``"error"``
        raises a ``ValueError`` instead; ``False`` turns all checks off.
    class_names : array-like of str, default=None
        Names of the columns of ``y``, e.g. the ``target_names`` of
        :func:`~cardionet_sk.datasets.fetch_ptbxl`. ``None`` takes the columns
        of a DataFrame ``y``, else the column indices.
    warm_start : bool, default=False
        Keep training the existing network on the next :meth:`fit`.
    random_state : int, numpy.random.RandomState or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation
        split. An int makes fit deterministic on the CPU. The seeds go to each
        layer and batch generator: no global random state is set, so seeded
        fits running side by side in threads do not disturb each other.
    **kwargs
        Routed parameters: ``model__`` (the architecture's hyper-parameters),
        ``optimizer__`` (e.g. ``optimizer__beta_1=0.8``), ``fit__`` (arguments
        of ``keras.Model.fit``: ``fit__callbacks=[...]`` for extra callbacks,
        ``fit__verbose=1`` for Keras' progress bars), ``predict__batch_size``
        and ``init__`` (fine-tuning). A misspelt prefix is an error naming the
        closest valid one. (``callbacks`` and ``verbose`` were constructor
        parameters until 0.5: given so, they still work, with a
        ``FutureWarning``.)

    Attributes
    ----------
    model_ : keras.Model
        The trained network.
    classes_ : ndarray of shape (n_classes,)
        Class names: ``class_names``, else the columns of a DataFrame ``y``,
        else ``0 .. n_classes - 1``. For a 1-D binary ``y`` it is ``[0, 1]``.
    hyperparameters_ : dict
        The architecture's hyper-parameters the network was built with,
        defaults filled in.
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
    min_timesteps_, min_duration_ : int, float
        The shortest record this classifier scores, in timesteps at
        ``sampling_rate`` and in seconds: its training crop, else the fixed
        input length of its network, else the length of the records it was
        fitted on. Shorter records are rejected with an error naming it.
    calibration_maps_ : list of dict
        One calibration map per class, as plain numbers: those of a saved
        model, or fitted by :meth:`fit_calibration`. Absent when none was
        fitted (and after :meth:`fit`, as maps belong to the network they
        were fitted on).
    validation_records_ : ndarray of int
        Rows of the training ``X`` held out for early stopping; empty without
        validation. Useful for tuning thresholds on records the weights never
        saw, as ``benchmarks/thresholds_ptbxl.py`` does (with ``groups``, of
        patients the weights never saw either).

    See Also
    --------
    PTBXLWindower : Cuts records into the windows this classifier aggregates.
    ThresholdOptimizer : Tunes one decision threshold per class.

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

    References
    ----------
    .. [1] Wagner, P., Strodthoff, N., Bousseljot, R.-D., et al. (2020). PTB-XL, a
       large publicly available electrocardiography dataset. *Scientific Data*,
       7, 154. https://doi.org/10.1038/s41597-020-0495-6
    .. [2] Strodthoff, N., Wagner, P., Schaeffter, T., Samek, W. (2021). Deep
       learning for ECG analysis: benchmarks and insights from PTB-XL. *IEEE
       Journal of Biomedical and Health Informatics*, 25(5), 1519-1528.

    Examples
    --------
    >>> from cardionet_sk import CardioNetClassifier
    >>> from cardionet_sk.datasets import load_sample
    >>> sample = load_sample()                     # 52 real PTB-XL records, mV, 100 Hz
    >>> clf = CardioNetClassifier(model__filters=(4,), model__kernel_sizes=(3,),
    ...                           model__dense_units=8, epochs=1, random_state=0)
    >>> clf = clf.fit(sample.data, sample.target)
    >>> clf.predict_proba(sample.data[:3]).shape
    (3, 5)
    >>> clf.classes_.tolist()
    [0, 1, 2, 3, 4]
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "optimizer": [str, type, keras.optimizers.Optimizer],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), None],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "patience": [Interval(numbers.Integral, 0, None, closed="left")],
        "standardize": ["boolean"],
        "threshold": [Interval(numbers.Real, None, None, closed="neither"), "array-like"],
        # A list of maps or None: the meaning until 0.5, deprecated.
        "calibration": ["boolean", list, None],
        "window_aggregation": [StrOptions({"mean", "max"}), callable],
        "crop_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "crop_stride": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "crop_inference": [StrOptions({"sliding", "whole"})],
        "max_shift": [Interval(numbers.Integral, 0, None, closed="left")],
        "test_time_shifts": ["array-like", None],
        "lr_schedule": [StrOptions({"cosine", "one_cycle"}), None],
        "monitor": [StrOptions({"val_loss", "val_macro_auc"})],
        "max_time": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "init": [str, os.PathLike, None],
        "sampling_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "signal_checks": ["boolean", StrOptions({"error"})],
        "class_names": ["array-like", None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
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
        optimizer="adam",
        learning_rate=1e-3,
        epochs=20,
        batch_size=32,
        class_weight="balanced",
        validation_split=0.2,
        patience=5,
        standardize=True,
        threshold=0.5,
        calibration=True,
        window_aggregation="mean",
        crop_size=None,
        crop_stride=None,
        crop_inference="sliding",
        max_shift=0,
        test_time_shifts=None,
        lr_schedule=None,
        monitor="val_loss",
        max_time=None,
        init=None,
        sampling_rate=100,
        signal_checks=True,
        class_names=None,
        warm_start=False,
        random_state=None,
        **kwargs,
    ):
        self.architecture = architecture
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.validation_split = validation_split
        self.patience = patience
        self.standardize = standardize
        self.threshold = threshold
        self.calibration = calibration
        self.window_aggregation = window_aggregation
        self.crop_size = crop_size
        self.crop_stride = crop_stride
        self.crop_inference = crop_inference
        self.max_shift = max_shift
        self.test_time_shifts = test_time_shifts
        self.lr_schedule = lr_schedule
        self.monitor = monitor
        self.max_time = max_time
        self.init = init
        self.sampling_rate = sampling_rate
        self.signal_checks = signal_checks
        self.class_names = class_names
        self.warm_start = warm_start
        self.random_state = random_state
        # Routed parameters (``optimizer__beta_1``) are attributes, as scikeras keeps them; so
        # are the parameters of before 0.5 that are routed now (``filters``), until 0.6.
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

    #: Prefixes of the routed parameters this classifier reads; scikeras knows others
    #: (``loss__``, ``metrics__``, ``compile__``) that it would ignore here.
    _ROUTES = ("model", "optimizer", "fit", "predict", "init")
    # scikeras' set_params takes routed names with these prefixes as they are.
    _routing_prefixes = {*BaseWrapper._routing_prefixes, "init"}

    def _validate_params(self):
        """The scikit-learn parameter checks, and routed names checked too: a misspelt
        prefix (``optimzer__beta_1``) is an error naming the closest valid one, not a
        parameter silently ignored; a parameter routed since 0.5 given by its old name
        works, with a ``FutureWarning`` naming the new one."""
        super()._validate_params()
        for old, new in _ROUTED_SINCE_0_5.items():
            if old in vars(self):
                warnings.warn(
                    f"{type(self).__name__}({old}=...) is deprecated and will be removed in "
                    f"0.6: pass {new}=... instead.",
                    FutureWarning,
                    stacklevel=3,
                )
        for name in vars(self):
            if name in _ROUTED_SINCE_0_5:
                continue
            if "__" not in name:
                public = not name.startswith("_") and not name.endswith("_")
                if public and name not in self._parameter_constraints:
                    hint = _closest(name, self._parameter_constraints, "{}")
                    raise ValueError(f"Unknown parameter {name!r} of {type(self).__name__}{hint}")
                continue
            prefix, rest = name.split("__", 1)
            if prefix not in self._ROUTES:
                hint = _closest(prefix, self._ROUTES, "{}__" + rest)
                raise ValueError(
                    f"Unknown routed parameter {name!r} of {type(self).__name__}: routed "
                    f"parameters start with {', '.join(p + '__' for p in self._ROUTES)}{hint}"
                )

    def set_params(self, **params):
        """Set the parameters of this estimator, routed ones included (``model__filters``).

        Parameters
        ----------
        **params : dict
            Estimator parameters. The names routed since 0.5 (``filters``,
            ``callbacks`` ...) are still taken, with a ``FutureWarning`` at
            :meth:`fit`.

        Returns
        -------
        self : CardioNetClassifier
        """
        for name in [name for name in params if name in _ROUTED_SINCE_0_5]:
            setattr(self, name, params.pop(name))
        return super().set_params(**params)

    def initialize(self, X, y=None):
        """Not supported: the network is built by :meth:`fit` (or :meth:`partial_fit`).

        scikeras' ``initialize`` builds an untrained model; this classifier's
        network depends on the records and labels it is fitted on (leads,
        classes, standardisation, ``init``), so it has no separate build step.

        Raises
        ------
        NotImplementedError
            Always, naming the methods to use.
        """
        raise NotImplementedError(
            f"{type(self).__name__} builds its network in fit: call fit(X, y), or "
            "partial_fit(X, y) for one epoch; load a trained one with load_pretrained."
        )

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        """The metric of :meth:`score`: subset accuracy of 0/1 label matrices.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_records, n_classes) or (n_records,)
        **kwargs
            Passed to :func:`sklearn.metrics.accuracy_score`.

        Returns
        -------
        score : float
        """
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y_true, y_pred, **kwargs))

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, groups=None, sampling_rate=None, lead_names=None):
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
        sampling_rate : float, default=None
            Sampling rate of ``X``, in Hz, when it is not this classifier's
            ``sampling_rate`` (the rate of its network; with ``init``, that of
            the pretrained network): ``X`` is resampled to it first, as
            :meth:`predict_proba` does.
        lead_names : sequence of str, default=None
            Names of the leads of ``X``, matched as in :meth:`predict_proba` to
            the leads of the network ``init`` names, or to PTB-XL's 12 leads in
            their order.

        Returns
        -------
        self : CardioNetClassifier
            The fitted classifier.
        """
        self._validate_params()
        warm = self.warm_start and hasattr(self, "model_")
        X = self._training_records(X, sampling_rate, lead_names)
        return self._fit(X, y, sample_weight, groups, warm=warm, epochs=self.epochs)

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
            X, y, sample_weight, None, warm=hasattr(self, "model_"), epochs=1, incremental=True
        )

    # -- prediction ------------------------------------------------------------------------

    def predict_proba(self, X, *, sampling_rate=None, lead_names=None):
        """Probability of each class for each record.

        Records are adapted to the model first (its input contract): resampled
        from ``sampling_rate`` to the model's rate, their leads matched by name,
        and, for a network of fixed input length, longer records cut into
        overlapping windows of that length whose probabilities are aggregated
        with ``window_aggregation``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or \
                (n_records, n_windows, n_timesteps, n_leads)
            ECG records in millivolts, or windows of them whose probabilities are
            aggregated with ``window_aggregation``. Records must be at least
            ``min_duration_`` seconds long.
        sampling_rate : float, default=None
            Sampling rate of ``X``, in Hz, when it is not the model's
            (``self.sampling_rate``): the records are resampled to the model's
            rate with an anti-aliasing polyphase filter
            (:func:`scipy.signal.resample_poly`). The signal checks run at this
            rate, before resampling.
        lead_names : sequence of str, default=None
            Name of each lead of ``X`` (last axis) when they are not the model's
            leads in its order: matched without case and with the usual aliases
            (``AVR``, ``-aVR`` (negated), ``DI``/``DII``/``DIII``), in any order;
            leads the model does not take are ignored, a missing one is an error
            that names it.

        Returns
        -------
        proba : ndarray of shape (n_records, n_classes)
            Independent per-class probabilities (rows need not sum to one),
            calibrated by ``calibration`` when it is set. For a binary
            classifier, ``(n_records, 2)`` with the positive class last.
        """
        return self._predict_proba(
            X, check_signals=True, sampling_rate=sampling_rate, lead_names=lead_names
        )

    def _predict_proba(self, X, *, check_signals, sampling_rate=None, lead_names=None):
        """:meth:`predict_proba`, with or without the signal checks of ``X``."""
        check_is_fitted(self, "model_")
        X = self._adapt_records(X, sampling_rate, lead_names, check_signals=check_signals)
        X = self._validate_X(X, reset=False, check_signals=False)
        routed = self._routed("predict")
        unknown = sorted(set(routed) - {"batch_size"})
        if unknown:
            raise ValueError(f"Unknown predict__ parameters {unknown}; only batch_size is routed.")
        batch_size = routed.get("batch_size", max(self.batch_size, 256))
        shifts = check_test_time_shifts(self.test_time_shifts)

        def predict(windows):
            outputs = [
                predict_batches(
                    self.model_,
                    np.roll(windows, shift, axis=1) if shift else windows,
                    batch_size,
                    self.mean_,
                    self.scale_,
                )
                for shift in shifts
            ]
            return outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)

        proba = predict_windows(predict, X, self.window_aggregation, chunk_size=_PREDICT_CHUNK)
        maps = self._calibration_maps()
        if maps is not None:
            proba = apply_calibration(proba, maps)
        if self.binary_:
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X, *, sampling_rate=None, lead_names=None):
        """Labels of each record: probabilities at or above ``threshold``.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads) or \
                (n_records, n_windows, n_timesteps, n_leads)
            ECG records, or windows of them.
        sampling_rate, lead_names
            The rate and lead names of ``X``, as in :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_records, n_classes) or (n_records,)
            0/1 indicator matrix (a 1-D 0/1 vector for a binary classifier).
        """
        proba = self.predict_proba(X, sampling_rate=sampling_rate, lead_names=lead_names)
        threshold = check_thresholds(self.threshold, self.n_classes_)
        return apply_thresholds(proba[:, 1] if self.binary_ else proba, threshold)

    def fit_calibration(self, X, y, *, method="sigmoid", sampling_rate=None, lead_names=None):
        """Fit one calibration map per class on records held out from training.

        The maps (``calibration_maps_``, plain numbers saved by
        :meth:`save_pretrained`) turn the network's scores into probabilities
        that match the frequencies of ``y``; :meth:`predict_proba` applies them
        while ``calibration`` is true. They belong to this network: :meth:`fit`
        drops them. For maps cross-validated on the training records, see
        :class:`~cardionet_sk.CalibratedMultilabelClassifierCV`.

        Parameters
        ----------
        X : array-like of shape (n_records, n_timesteps, n_leads)
            Records the network was not trained on (e.g. its
            ``validation_records_``).
        y : array-like of shape (n_records, n_classes)
            Their 0/1 labels; every class needs both values.
        method : {"sigmoid", "isotonic", "temperature"}, default="sigmoid"
            As in :func:`~cardionet_sk.fit_calibration_maps`.
        sampling_rate, lead_names
            The rate and lead names of ``X``, as in :meth:`predict_proba`.

        Returns
        -------
        self : CardioNetClassifier
        """
        check_is_fitted(self, "model_")
        self.__dict__.pop("calibration_maps_", None)
        raw = self.predict_proba(X, sampling_rate=sampling_rate, lead_names=lead_names)
        y = np.asarray(y)
        if self.binary_:
            raw, y = raw[:, 1:], y.reshape(-1, 1)
        self.calibration_maps_ = fit_calibration_maps(y, raw, method)
        return self

    def _calibration_maps(self):
        """The maps :meth:`predict_proba` applies: ``calibration_maps_`` while
        ``calibration`` is true; or, deprecated, a list given as ``calibration``."""
        if self.calibration is True:
            return getattr(self, "calibration_maps_", None)
        if self.calibration is False:
            return None
        warnings.warn(
            f"{type(self).__name__}(calibration=...) is a switch since 0.5: "
            + (
                "pass calibration=False for the network's own scores"
                if self.calibration is None
                else "fit maps with fit_calibration (they become calibration_maps_)"
            )
            + "; the old meaning goes in 0.6.",
            FutureWarning,
            stacklevel=4,
        )
        return self.calibration

    def export(
        self, path, *, format="tflite", quantize=None, representative_data=None, n_timesteps=None
    ):
        """Export the fitted model for deployment: TensorFlow Lite, ONNX or a SavedModel.

        The exported graph takes raw millivolt records ``(batch, n_timesteps,
        n_leads)``: per-lead standardisation, overlapping crops with their
        aggregation, and the calibration maps are inside it. Class names,
        thresholds and the input contract are written beside it as JSON.

        Parameters
        ----------
        path : str or path-like
            File (``.tflite``, ``.onnx``) or folder (SavedModel) to write.
        format : {"tflite", "onnx", "saved_model"}, default="tflite"
            ONNX needs the ``export`` extra (tf2onnx).
        quantize : {None, "float16", "int8"}, default=None
            TensorFlow Lite only: float16 weights, int8 weights, or with
            ``representative_data`` full int8.
        representative_data : array-like, default=None
            Records that calibrate full int8 quantisation.
        n_timesteps : int, default=None
            Record length of the exported input; ``None`` is the fitted one.

        Returns
        -------
        model_path, metadata_path : pathlib.Path
        """
        from ._keras.export import export_model

        return export_model(
            self,
            path,
            format=format,
            quantize=quantize,
            representative_data=representative_data,
            n_timesteps=n_timesteps,
        )


def _closest(name, candidates, template):
    """``"; did you mean X?"`` for the candidate closest to ``name`` (``template`` formats it),
    or ``"."`` when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean {template.format(close[0])}?" if close else "."


#: Constructor parameters of before 0.5 that are routed now, and their routed names.
_ROUTED_SINCE_0_5 = {
    "filters": "model__filters",
    "kernel_sizes": "model__kernel_sizes",
    "dense_units": "model__dense_units",
    "dropout": "model__dropout",
    "init__freeze_epochs": "init__freeze_epochs",
    "init_standardization": "init__standardization",
    "callbacks": "fit__callbacks",
    "verbose": "fit__verbose",
}

CardioNetClassifier.__doc__ = (CardioNetClassifier.__doc__ or "").replace(
    "ARCHITECTURE_DEFAULTS", describe_defaults()
)
