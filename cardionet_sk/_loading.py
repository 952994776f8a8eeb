"""Opening any saved model: :func:`load_pretrained`, the one loader.

A saved model is one of three kinds: a single network (``config.json``), an ensemble
(``ensemble.json``, members frozen) or the original CardioNet-XL release (a network of
2 s windows behind a :class:`PTBXLWindower`). The command line, Dask scoring and the
benchmarks open models here; fine-tuning's ``init=`` opens single networks only.
"""

import numpy as np
from sklearn.pipeline import make_pipeline

from . import hub
from ._classifier import CardioNetClassifier
from ._ensemble import MultilabelVotingClassifier
from ._windowing import PTBXLWindower


def load_pretrained(
    name_or_path=None,
    *,
    revision=None,
    token=None,
    cache_dir=None,
    force_download=False,
    local_files_only=False,
):
    """Open any saved model: embedded in the package, a folder, or a Hub repository.

    Parameters
    ----------
    name_or_path : str or path-like, default=None
        ``None`` for the default embedded model, :data:`cardionet_sk.hub.DEFAULT_MODEL`;
        the name of an embedded model (:func:`~cardionet_sk.list_pretrained`) or the
        Hub repository it is published as; a folder written by ``save_pretrained``; or
        a Hugging Face Hub repository id, downloaded with
        :func:`huggingface_hub.snapshot_download` or read from its cache.
    revision : str, default=None
        Hub branch, tag or commit. Given with an embedded model's repository id, it
        fetches from the Hub instead of using the embedded copy.
    token : str or bool, default=None
        Hugging Face token for private repositories.
    cache_dir : str or path-like, default=None
        Hugging Face cache folder.
    force_download : bool, default=False
        Download again even if cached.
    local_files_only : bool, default=False
        Only use the Hugging Face cache (as ``HF_HUB_OFFLINE=1`` does).

    Returns
    -------
    model : CardioNetClassifier, MultilabelVotingClassifier or sklearn.pipeline.Pipeline
        Fitted, with the saved thresholds and its validated config as
        ``pretrained_config_``: a :class:`CardioNetClassifier` for a single
        network; a :class:`MultilabelVotingClassifier` of frozen members for an
        ensemble; for the original CardioNet-XL release (``"sid512206/CardioNet-XL"``,
        one Keras H5 file, rebuilt from this package's architecture code and read with
        h5py, never deserialised), a :class:`~sklearn.pipeline.Pipeline` of the
        :class:`PTBXLWindower` that cuts its 10 s 500 Hz records into 2 s windows and
        the classifier. Each adapts records to its input contract: ``predict_proba(X,
        sampling_rate=..., lead_names=...)`` of a classifier or an ensemble resamples
        ``X`` and matches its leads by name.

    Raises
    ------
    FileNotFoundError
        A folder without ``config.json`` (or ``ensemble.json``) or a config naming a
        missing file.
    cardionet_sk.hub.ConfigError
        A malformed or inconsistent config (a :class:`ValueError`), naming the file
        and the field.
    OSError
        A repository id that is not cached while the Hub is unreachable.

    See Also
    --------
    CardioNetClassifier.from_pretrained : Opens single networks only.
    MultilabelVotingClassifier.from_pretrained : Opens ensembles only.

    Examples
    --------
    >>> from cardionet_sk import load_pretrained
    >>> from cardionet_sk.datasets import load_sample
    >>> model = load_pretrained("ensemble-ptbxl")
    >>> type(model).__name__
    'MultilabelVotingClassifier'
    >>> model.predict_proba(load_sample().data[:2]).shape
    (2, 5)
    """
    directory = hub.resolve_model_dir(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        force_download=force_download,
        token=token,
        local_files_only=local_files_only,
    )
    if hub.is_ensemble_folder(directory):
        return MultilabelVotingClassifier._from_folder(directory)
    clf = CardioNetClassifier._from_folder(directory)
    config = clf.pretrained_config_
    if config.preprocessing is None:
        return clf
    return _legacy_pipeline(clf, config)


def _legacy_pipeline(clf, config):
    """The windower that cuts the records a legacy release takes, then its network."""
    preprocessing = dict(config.preprocessing)
    # Saved before resample_to existed, the output rate is under its old name.
    if "sampling_rate" in preprocessing:
        preprocessing["resample_to"] = preprocessing.pop("sampling_rate")
    windower = PTBXLWindower(**preprocessing)
    # The windower is stateless: fitting it on one silent record of the input contract only
    # records the number of leads.
    longest = -(
        -config.preprocessing["window_size"]
        * config.preprocessing["input_sampling_rate"]
        // int(config.input.sampling_rate)
    )
    windower.fit(np.zeros((1, longest, len(config.input.leads)), dtype=np.float32))
    return make_pipeline(windower, clf)
