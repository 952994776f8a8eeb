"""The Hugging Face side of a classifier: ``save_pretrained``, ``from_pretrained``, ``push_to_hub``.

The schema of a saved model belongs to :class:`cardionet_sk.hub.ModelConfig`;
this mixin only maps a fitted classifier to a config and a network, and back.
"""

import inspect
import warnings
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import hub
from ._constants import LEADS
from ._keras.architectures import ARCHITECTURES, check_hyperparameters
from ._keras.training import build_compiled_network

#: Registry names -> hyper-parameter defaults: what a saved config may name.
_SAVEABLE_ARCHITECTURES = {name: a.defaults for name, a in ARCHITECTURES.items()}


def _network_config(directory):
    """The config of the single network saved in ``directory``, read once; and, when the
    folder holds something else, what: ``"an ensemble"`` (then no config) or ``"a legacy
    release (a windowing pipeline)"``; ``None`` for a network."""
    if hub.is_ensemble_folder(directory):
        return None, "an ensemble"
    config = hub.read_model_config(directory, architectures=_SAVEABLE_ARCHITECTURES)
    legacy = config.preprocessing is not None
    return config, "a legacy release (a windowing pipeline)" if legacy else None


class PretrainedMixin:
    """Saving, loading and publishing a fitted :class:`~cardionet_sk.CardioNetClassifier`.

    The mixin reads and sets the classifier's parameters and fitted attributes;
    they are declared here for mypy only (annotations create no attributes).
    """

    architecture: str
    standardize: bool
    sampling_rate: float
    init: Any
    window_aggregation: Any
    crop_size: Any
    crop_stride: Any
    threshold: Any
    model_: Any
    classes_: Any
    binary_: bool
    n_classes_: int
    n_features_in_: int
    n_leads_in_: int
    mean_: Any
    scale_: Any
    label_weights_: Any
    history_: dict
    hyperparameters_: dict
    validation_records_: Any
    pretrained_config_: Any

    def save_pretrained(
        self,
        save_directory,
        *,
        sampling_rate=None,
        lead_names=None,
        units="mV",
        weights_dtype="float32",
        **card,
    ):
        """Save the fitted model as a folder that :meth:`from_pretrained` loads.

        The folder holds ``config.json`` (a :class:`~cardionet_sk.hub.ModelConfig`),
        ``model.weights.h5`` and a ``README.md`` model card; nothing in it is
        pickled or executes code on load. Files are written to a temporary
        folder first and moved into place, so an interrupted save does not
        leave a half-written model.

        Parameters
        ----------
        save_directory : str or path-like
            Folder to write; created if needed, files of the same name replaced.
        sampling_rate : float, default=None
            Sampling rate, in Hz, of the records the model expects; ``None`` is
            the classifier's ``sampling_rate``.
        lead_names : sequence of str, default=None
            Lead order of the records; ``None`` means PTB-XL's 12 leads for a
            12-lead model and ``lead0, lead1, ...`` otherwise.
        units : str, default="mV"
            Physical unit of the signal.
        weights_dtype : {"float32", "float16"}, default="float32"
            Storage precision of the weights; float16 halves the folder.
        **card
            Model card fields: ``metrics`` (evaluation results: ``macro_auc``,
            ``macro_f1``, ``per_class`` ..., as written by
            ``benchmarks/train_pretrained.py``), ``name``, ``description``,
            ``training``, ``repo_id`` (the Hub repository it is meant for),
            ``task`` (what the labels are, e.g. a PTB-XL task of
            :func:`~cardionet_sk.datasets.fetch_ptbxl`) and
            ``class_descriptions`` (one text per label).

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
        config = hub.ModelConfig.from_classifier(
            self,
            sampling_rate=self.sampling_rate if sampling_rate is None else sampling_rate,
            lead_names=lead_names,
            units=units,
            weights_dtype=weights_dtype,
            **{"name": f"CardioNet ({self.architecture})", **card},
        )
        return hub.save_model_folder(save_directory, config, self.model_)

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
        """Load a fitted network: embedded in the package, from a folder, or from the Hub.

        :func:`~cardionet_sk.load_pretrained` opens any saved model (a single
        network, an ensemble, the original CardioNet-XL release); this method
        opens single networks, as a :class:`CardioNetClassifier`.

        Parameters
        ----------
        repo_id_or_path : str or path-like, default=None
            ``None`` for the default embedded model,
            :data:`cardionet_sk.hub.DEFAULT_MODEL` (among the models that
            classify at least 100 ECGs per second on 2 CPU cores, the fastest as
            accurate as the most accurate of them); the name of an embedded model
            (:func:`~cardionet_sk.list_pretrained`) or the Hub repository it is
            published as; a folder written by :meth:`save_pretrained`; or a
            Hugging Face Hub repository id, downloaded with
            :func:`huggingface_hub.snapshot_download` or read from its cache.
        revision, cache_dir, force_download, token, local_files_only
            As in :func:`~cardionet_sk.load_pretrained`: the Hub revision, the
            Hugging Face cache, a forced download, a token for private
            repositories, the cache only.

        Returns
        -------
        clf : CardioNetClassifier
            A fitted classifier whose :meth:`predict` applies the saved
            thresholds, with the validated config as ``pretrained_config_``.
            It adapts records to its input contract
            (:meth:`predict_proba`'s ``sampling_rate`` and ``lead_names``).

            Deprecated: given an ensemble folder or the original CardioNet-XL
            release, it still returns what :func:`~cardionet_sk.load_pretrained`
            returns (a :class:`MultilabelVotingClassifier` or a
            :class:`~sklearn.pipeline.Pipeline`) with a ``FutureWarning``; in
            0.6 it will raise instead.

        Raises
        ------
        FileNotFoundError
            A folder without ``config.json`` or a config naming a missing file.
        cardionet_sk.hub.ConfigError
            A malformed or inconsistent config (a :class:`ValueError`), naming
            the file and the field.
        ValueError
            Weights whose names or shapes do not match the config.
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
        directory = hub.resolve_model_dir(
            repo_id_or_path,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            token=token,
            local_files_only=local_files_only,
        )
        config, kind = _network_config(directory)
        if kind is None:
            return cls._from_folder(directory, config)
        warnings.warn(
            f"{repo_id_or_path!r} is {kind}, not a single {cls.__name__}: "
            f"{cls.__name__}.from_pretrained returns it for now, but will raise in 0.6. "
            "Open any saved model with cardionet_sk.load_pretrained.",
            FutureWarning,
            stacklevel=2,
        )
        # The one import back up the module graph: this deprecated path goes in 0.6.
        from ._loading import load_pretrained

        return load_pretrained(directory)

    @classmethod
    def _from_folder(cls, directory, config=None):
        """The single network saved in the resolved model folder ``directory``, whose
        ``config`` is read here unless given.

        A legacy release's network is the classifier of its pipeline
        (:func:`~cardionet_sk.load_pretrained` adds the windower).
        """
        if config is None:
            config = hub.read_model_config(directory, architectures=_SAVEABLE_ARCHITECTURES)
        clf = cls._from_config(config)
        hub.load_weights(clf.model_, directory, config)
        return clf

    @classmethod
    def _from_config(cls: Any, config):
        """A classifier fitted as ``config`` describes, with an untrained network."""
        own = set(inspect.signature(cls).parameters)
        clf = cls(
            config.architecture,
            **{(k if k in own else f"model__{k}"): v for k, v in config.hyperparameters.items()},
            threshold=list(config.thresholds),
            **{name: getattr(config, name) for name in hub.INFERENCE_PARAMETERS},
            standardize=config.standardization is not None,
            # For a legacy release, the rate of the windows the network takes.
            sampling_rate=config.input.sampling_rate,
        )
        clf.n_features_in_, clf.n_leads_in_ = config.input.n_timesteps, len(config.input.leads)
        clf.binary_ = config.binary
        clf.n_classes_ = config.n_labels
        clf.classes_ = np.asarray(config.classes, dtype=None if config.binary else object)
        standardization = config.standardization or {
            "mean": np.zeros(clf.n_leads_in_),
            "scale": np.ones(clf.n_leads_in_),
        }
        clf.mean_ = np.asarray(standardization["mean"], dtype=np.float32)
        clf.scale_ = np.asarray(standardization["scale"], dtype=np.float32)
        clf.label_weights_ = (np.ones(clf.n_classes_), np.ones(clf.n_classes_))
        clf.history_ = {}
        clf.validation_records_ = np.array([], dtype=int)
        clf.pretrained_config_ = config
        if config.calibration is not None:
            clf.calibration_maps_ = list(config.calibration)
        clf.hyperparameters_ = check_hyperparameters(config.architecture, config.hyperparameters)
        clf.model_ = build_compiled_network(clf, seed=None)
        return clf

    def _pretrained_start(self, X):
        """The network ``init`` names, checked against these records and this classifier.

        Fine-tuning keeps the pretrained network's input contract: the same
        leads, the same sampling rate and, for a network of fixed input length,
        the same number of timesteps.
        """
        where = f"init={self.init!r}"
        directory = hub.resolve_model_dir(self.init)
        config, kind = _network_config(directory)
        if kind is not None:
            raise ValueError(f"{where} is {kind}, not a network that can be fine-tuned.")
        source = type(self)._from_folder(directory, config)
        spec = source.pretrained_config_.input
        if source.architecture != self.architecture:
            raise ValueError(
                f"{where} is a {source.architecture!r} network; set "
                f"architecture={source.architecture!r} to fine-tune it."
            )
        if X.shape[-1] != len(spec.leads):
            raise ValueError(
                f"{where} takes the {len(spec.leads)} leads {' '.join(spec.leads)}; X has "
                f"{X.shape[-1]} leads. Name the leads of X with fit(X, y, lead_names=...)."
            )
        if self.sampling_rate != spec.sampling_rate:
            raise ValueError(
                f"{where} takes records at {spec.sampling_rate:g} Hz; this classifier's "
                f"sampling_rate is {self.sampling_rate:g} Hz. Set sampling_rate="
                f"{spec.sampling_rate:g} and give the rate of the records to fit: "
                "fit(X, y, sampling_rate=...) resamples them."
            )
        length = source.model_.input_shape[1]
        if length is not None and (self.crop_size or X.shape[-2]) != length:
            raise ValueError(
                f"{where} takes {length} timesteps ({length / spec.sampling_rate:g} s); the "
                f"records have {X.shape[-2]}."
            )
        return source

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
        return hub.push_folder(
            lambda folder: self.save_pretrained(folder, repo_id=repo_id, **save_kwargs),
            repo_id,
            private=private,
            token=token,
            commit_message=commit_message,
        )
