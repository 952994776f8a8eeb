"""MultilabelVotingClassifier: the weighted mean of multi-label classifiers' probabilities."""

import numbers
import shutil
import tempfile
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping
from sklearn.utils.validation import check_is_fitted

from . import hub
from ._compat import Interval, fit_context
from ._multilabel_meta import MultilabelMetaClassifier
from ._response import positive_proba
from ._thresholds import apply_thresholds
from ._validation import check_thresholds
from .hub._ensemble_config import (
    ENSEMBLE_CARD_FIELDS,
    ENSEMBLE_NAME,
    EnsembleConfig,
    EnsembleMember,
    ensemble_model_config,
    read_ensemble_config,
)


class MultilabelVotingClassifier(MultilabelMetaClassifier):
    """Soft-voting ensemble of multi-label classifiers.

    The probability of each class is the weighted mean of the members'
    probabilities for it; labels are the probabilities at or above
    ``threshold``. As in :class:`~sklearn.ensemble.VotingClassifier`, ``fit``
    fits a clone of every member, except members wrapped in
    :class:`~sklearn.frozen.FrozenEstimator`, which are used as they were
    fitted: an ensemble of already trained models (for example several
    pretrained ones) is ``fit`` on no more than the data that names its classes.

    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The members and their names. Each has ``predict_proba`` over the same
        0/1 labels, in either of scikit-learn's multi-label conventions (an
        ``(n_samples, n_classes)`` array or a list of ``(n_samples, 2)``
        arrays); they may be pipelines.
    weights : array-like of shape (n_estimators,), default=None
        Weight of each member's probabilities; ``None`` weighs them equally.
    threshold : float or array-like of shape (n_classes,), default=0.5
        Decision threshold of :meth:`predict`, for all classes or per class.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members (the frozen ones as given).
    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The fitted members by name.
    classes_ : ndarray of shape (n_classes,)
        Class names: those of a DataFrame ``y``, else the members', else
        ``0 .. n_classes - 1``; ``[0, 1]`` for a 1-D binary ``y``.
    n_classes_ : int
        Number of labels.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : The same for single-output classifiers.
    CalibratedMultilabelClassifierCV : Calibrate the ensemble's probabilities.
    ThresholdOptimizer : Tune its thresholds per class.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from cardionet_sk import MultilabelVotingClassifier
    >>> X, y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    >>> ensemble = MultilabelVotingClassifier(
    ...     [("knn", KNeighborsClassifier()), ("tree", DecisionTreeClassifier(max_depth=3))]
    ... ).fit(X, y)
    >>> ensemble.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", None],
        "threshold": [Interval(numbers.Real, 0, 1, closed="both"), "array-like"],
    }

    def __init__(self, estimators, *, weights=None, threshold=0.5):
        self.estimators = estimators
        self.weights = weights
        self.threshold = threshold

    @fit_context(
        # The members' parameters are validated by their own fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit a clone of every member not frozen, on all of ``X`` and ``y``.

        Parameters
        ----------
        X : array-like
            Whatever the members take.
        y : array-like of shape (n_samples, n_classes) or (n_samples,)
            0/1 indicator matrix (a DataFrame names the classes), or a binary vector.
        **fit_params : dict
            Metadata routed to the members' ``fit`` (see
            :func:`sklearn.set_config` ``enable_metadata_routing``).

        Returns
        -------
        self : MultilabelVotingClassifier
        """
        names, members = self._check_members()
        X, y, y_indicator, class_names, routed = self._check_target(X, y, fit_params)
        self.estimators_ = [
            member if isinstance(member, FrozenEstimator) else clone(member) for member in members
        ]
        for name, member in zip(names, self.estimators_):
            member.fit(X, y, **routed[name].fit)
        self.n_classes_ = y_indicator.shape[1]
        self._finish(names, class_names)
        return self

    def _check_members(self):
        if not self.estimators or not all(
            isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
            for pair in self.estimators
        ):
            raise ValueError("estimators must be a non-empty list of (name, estimator) tuples.")
        names, members = zip(*self.estimators)
        if len(set(names)) != len(names):
            raise ValueError(f"Names of the estimators must be unique; got {list(names)}.")
        for name, member in self.estimators:
            if not hasattr(member, "predict_proba"):
                raise ValueError(
                    f"The estimator {name!r} ({type(member).__name__}) has no predict_proba: "
                    "a soft vote needs probabilities."
                )
        if self.weights is not None and np.shape(self.weights) != (len(members),):
            raise ValueError(
                f"weights must give one weight per estimator ({len(members)}); got "
                f"{np.shape(self.weights)}."
            )
        return list(names), list(members)

    def _finish(self, names, class_names):
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        self.classes_ = self._class_names(self.estimators_[0], class_names, self.n_classes_)
        self._copy_input_attributes(self.estimators_[0])

    def predict_proba(self, X, **predict_params):
        """The weighted mean of the members' probabilities of each class.

        Parameters
        ----------
        X : array-like
            Whatever the members take.
        **predict_params
            Passed to each member's ``predict_proba``: for ECG records, their
            ``sampling_rate`` and ``lead_names``, so that each member adapts them
            to its own input contract (rate, leads, length) as
            :meth:`CardioNetClassifier.predict_proba` does.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class; ``(n_samples, 2)`` for a binary ``y``.
        """
        check_is_fitted(self, "estimators_")
        proba = np.average(
            [
                positive_proba(member, X, self.n_classes_, **predict_params)
                for member in self.estimators_
            ],
            axis=0,
            weights=self.weights,
        )
        if self._binary:
            return np.column_stack([1.0 - proba[:, 0], proba[:, 0]])
        return proba

    def predict(self, X, **predict_params):
        """Labels: the probabilities at or above ``threshold``.

        Parameters
        ----------
        X : array-like
            Whatever the members take.
        **predict_params
            Passed to each member's ``predict_proba``, as in :meth:`predict_proba`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,)
        """
        proba = self.predict_proba(X, **predict_params)
        threshold = check_thresholds(self.threshold, self.n_classes_)
        return apply_thresholds(proba[:, 1] if self._binary else proba, threshold)

    # -- one saved model folder --------------------------------------------------------

    def save_pretrained(self, save_directory, *, embedded_members=False, **card):
        """Save a fitted ensemble of :class:`CardioNetClassifier` members as one folder.

        The folder holds ``ensemble.json`` (member names and weights, classes,
        thresholds, card fields), a model card ``README.md`` and each member's
        own model folder under ``members/``; :meth:`from_pretrained` loads it.
        It is written to a temporary folder first and moved into place.

        Parameters
        ----------
        save_directory : str or path-like
            Folder to write. An ensemble folder already there is replaced; any
            other folder that is not empty is left alone, with an error.
        embedded_members : bool, default=False
            Store no member: each must be the embedded model of its name
            (:func:`list_pretrained`, compared config and weights, the model
            card aside), and the folder refers to it. For an ensemble embedded
            in the package itself, which then holds each model once; such a
            folder loads only where this package has those models, so save a
            copy without this option to publish it.
        **card
            ``name``, ``description``, ``training``, ``task``, ``metrics``,
            ``repo_id``: text and numbers that describe the ensemble, shown in
            its model card (``README.md``) with its members' input contract.

        Returns
        -------
        path : pathlib.Path

        Raises
        ------
        ValueError
            If a member is not a :class:`CardioNetClassifier`, or, with
            ``embedded_members``, differs from the embedded model of its name.
        """
        from ._classifier import CardioNetClassifier

        check_is_fitted(self, "estimators_")
        members = [getattr(m, "estimator", m) for m in self.estimators_]
        if not all(isinstance(m, CardioNetClassifier) for m in members):
            raise ValueError(
                "Only an ensemble of CardioNetClassifier members (frozen or not) can be saved "
                "as a model folder; save other estimators with joblib."
            )
        unknown = sorted(set(card) - set(ENSEMBLE_CARD_FIELDS))
        if unknown:
            raise TypeError(f"Unknown card fields {unknown}.")
        target = Path(save_directory)
        if target.is_dir() and any(target.iterdir()) and not (target / ENSEMBLE_NAME).is_file():
            raise FileExistsError(
                f"{target} is a folder that holds no ensemble; save into a new or empty one."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            for name, member in zip(self.named_estimators_, members):
                # A loaded member keeps its card, leads and storage precision (float16
                # weights saved as float32 would double in size, not gain precision).
                loaded = getattr(member, "pretrained_config_", None)
                folder = member.save_pretrained(
                    staging / "members" / name,
                    **({} if loaded is None else loaded.resave_arguments()),
                )
                if embedded_members:
                    _drop_embedded_copy(folder, name)
            if embedded_members:
                (staging / "members").rmdir()
            config = ensemble_config(self, card, embedded_members)
            config.write(staging)
            # The members' configs, as written: the card shows their input contract.
            members_config = [
                hub.ModelConfig.read(folder, architectures=None)
                for folder in hub.ensemble_member_folders(staging, config)
            ]
            hub.model_card(ensemble_model_config(config, members_config)).save(
                staging / hub.MODEL_CARD_NAME
            )
            # The old ensemble goes only once the new one is complete.
            old = target.with_name(f"{staging.name}.old") if target.exists() else None
            if old is not None:
                target.rename(old)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return target

    @classmethod
    def from_pretrained(
        cls,
        repo_id_or_path,
        *,
        revision=None,
        cache_dir=None,
        force_download=False,
        token=None,
        local_files_only=False,
    ):
        """Load an ensemble saved by :meth:`save_pretrained`: embedded, a folder or a Hub id.

        Parameters
        ----------
        repo_id_or_path : str or path-like
            The ensemble's folder, the name of an embedded ensemble
            (:func:`list_pretrained`) or a Hugging Face Hub repository id.
        revision, cache_dir, force_download, token, local_files_only
            As in :func:`~cardionet_sk.load_pretrained`.

        Returns
        -------
        ensemble : MultilabelVotingClassifier
            Fitted, its members frozen: ``fit`` would not retrain them; its
            validated ``ensemble.json`` is ``pretrained_config_``
            (a :class:`~cardionet_sk.hub.EnsembleConfig`).

        Raises
        ------
        ValueError
            If the folder is no ensemble (:func:`~cardionet_sk.load_pretrained`
            opens any saved model), or its ``ensemble.json`` is malformed or
            disagrees with its members.
        """
        directory = hub.resolve_model_dir(
            repo_id_or_path,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            token=token,
            local_files_only=local_files_only,
        )
        if not hub.is_ensemble_folder(directory):
            raise ValueError(
                f"{repo_id_or_path!r} is a single model, not an ensemble (it has no "
                f"{ENSEMBLE_NAME}): open it with cardionet_sk.load_pretrained, which opens "
                "any saved model, or CardioNetClassifier.from_pretrained."
            )
        return cls._from_folder(directory)

    @classmethod
    def _from_folder(cls, path):
        """The ensemble saved in the resolved folder ``path``."""
        from ._classifier import CardioNetClassifier

        config = read_ensemble_config(path)
        members = [
            CardioNetClassifier._from_folder(folder)
            for folder in hub.ensemble_member_folders(path, config)
        ]
        for member in members:
            if list(member.classes_) != list(config.classes):
                raise ValueError(
                    f"{path / ENSEMBLE_NAME}: a member predicts {list(member.classes_)}, "
                    f"not the ensemble's classes {list(config.classes)}."
                )
        names = [member.name for member in config.members]
        ensemble = cls(
            [(name, FrozenEstimator(m)) for name, m in zip(names, members)],
            weights=[member.weight for member in config.members],
            threshold=list(config.thresholds),
        )
        ensemble.estimators_ = [estimator for _, estimator in ensemble.estimators]
        ensemble.n_classes_ = len(config.classes)
        ensemble._binary = False
        ensemble._finish(names, members[0].classes_)
        ensemble.pretrained_config_ = config
        return ensemble

    @property
    def min_duration_(self):
        """Shortest record, in seconds, that every member scores (the longest of their
        ``min_duration_``; members without one set no minimum)."""
        check_is_fitted(self, "estimators_")
        return max(getattr(member, "min_duration_", 0.0) for member in self.estimators_)

    # -- scikit-learn ------------------------------------------------------------------

    def _input_estimator(self):
        return self.estimators[0][1]

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        Please check :ref:`User Guide <metadata_routing>` on how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            Each member's ``fit`` gets what it requests of the ensemble's ``fit``.
        """
        router = MetadataRouter(owner=self)
        for name, member in self.estimators:
            router.add(**{name: member}, method_mapping=MethodMapping().add("fit", "fit"))
        return router


def ensemble_config(ensemble, card, embedded_members=False):
    """The :class:`~cardionet_sk.hub.EnsembleConfig` of a fitted ensemble as it is now (its
    weights, classes and thresholds) with the model-card fields ``card``."""
    weights = np.ones(len(ensemble.estimators_)) if ensemble.weights is None else ensemble.weights
    return EnsembleConfig(
        members=tuple(
            EnsembleMember(name, float(w), embedded_members)
            for name, w in zip(ensemble.named_estimators_, weights)
        ),
        # Plain JSON: names stay strings, numbered classes integers.
        classes=tuple(c.item() if isinstance(c, np.generic) else c for c in ensemble.classes_),
        thresholds=tuple(check_thresholds(ensemble.threshold, ensemble.n_classes_).tolist()),
        **card,
    ).validated()


def _drop_embedded_copy(folder, name):
    """Remove a member's saved ``folder`` once it is known to be the embedded model ``name``."""
    embedded = hub.embedded_model_folder(name)
    if embedded is None or not hub.same_model(folder, embedded):
        raise ValueError(
            f"The member {name!r} is not the embedded model of that name "
            f"({'there is none' if embedded is None else 'its config or weights differ'}): "
            "save the ensemble without embedded_members, or name the member after the "
            "embedded model it is."
        )
    shutil.rmtree(folder)
