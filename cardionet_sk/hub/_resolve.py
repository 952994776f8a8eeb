"""Where a model folder is: embedded in the package, a local folder, or the Hugging Face Hub.

Nothing here imports TensorFlow: listing and resolving models is cheap.
"""

from pathlib import Path

from .._version import __version__
from ._config import CONFIG_NAME, WEIGHTS_NAME, ConfigError, ModelConfig
from ._ensemble_config import ENSEMBLE_NAME, read_ensemble_config

EMBEDDED_DIR = Path(__file__).resolve().parents[1] / "pretrained"

#: Embedded model name -> the Hub repository it is published as.
_EMBEDDED_REPO_IDS = {
    "cardionet-ptbxl": "cardionet-sk/cardionet-ptbxl",
    "resnet1d-wang-ptbxl": "cardionet-sk/resnet1d-wang-ptbxl",
    "resnet1d-wang-ptbxl-all": "cardionet-sk/resnet1d-wang-ptbxl-all",
    "xresnet1d50-ptbxl-ema": "cardionet-sk/xresnet1d50-ptbxl-ema",
    "xresnet1d101-ptbxl-ema": "cardionet-sk/xresnet1d101-ptbxl-ema",
    "inception1d-ptbxl": "cardionet-sk/inception1d-ptbxl",
    "resnet1d-wang-ptbxl-5s-ema": "cardionet-sk/resnet1d-wang-ptbxl-5s-ema",
    "resnet1d-wang-ptbxl-ema": "cardionet-sk/resnet1d-wang-ptbxl-ema",
    "inception1d-ptbxl-ema": "cardionet-sk/inception1d-ptbxl-ema",
    "ensemble-ptbxl": "cardionet-sk/ensemble-ptbxl",
}

#: The embedded model ``from_pretrained()`` loads when given no name: among the models that
#: classify at least 100 ECGs per second on 2 CPU cores, the fastest whose fold-9 macro AUC
#: is no different from the highest of them (``benchmarks/ptbxl_superdiagnostic.py`` writes
#: the choice; a test keeps them equal).
DEFAULT_MODEL = "xresnet1d50-ptbxl-ema"
#: Hub repository the project publishes its default model under.
DEFAULT_REPO_ID = _EMBEDDED_REPO_IDS[DEFAULT_MODEL]


def list_pretrained(details=False):
    """Names of the pretrained models shipped inside the package.

    Each name can be passed to :meth:`CardioNetClassifier.from_pretrained`;
    no network access is needed to load them.

    Parameters
    ----------
    details : bool, default=False
        Return, instead of names, one dict per model read from its
        ``config.json`` (TensorFlow is not imported): ``name``, ``task`` (the
        label set, e.g. ``"superdiagnostic"`` or ``"all"``; ``None`` if
        unrecorded), ``architecture`` (``"ensemble"`` for a
        :class:`~cardionet_sk.MultilabelVotingClassifier`), ``n_classes`` and
        ``description``.

    Returns
    -------
    names : list of str, or list of dict with ``details=True``

    Examples
    --------
    >>> from cardionet_sk import list_pretrained
    >>> "cardionet-ptbxl" in list_pretrained()
    True
    >>> [m["task"] for m in list_pretrained(details=True) if m["name"] == "cardionet-ptbxl"]
    ['superdiagnostic']
    """
    if not EMBEDDED_DIR.is_dir():
        return []
    names = sorted(
        p.name
        for p in EMBEDDED_DIR.iterdir()
        if (p / CONFIG_NAME).is_file() or (p / ENSEMBLE_NAME).is_file()
    )
    return [_details(EMBEDDED_DIR / name) for name in names] if details else names


def _details(folder):
    if (folder / ENSEMBLE_NAME).is_file():
        ensemble = read_ensemble_config(folder)
        return {
            "name": folder.name,
            "task": ensemble.task,
            "architecture": "ensemble",
            "n_classes": len(ensemble.classes),
            "description": ensemble.description,
        }
    config = ModelConfig.read(folder, architectures=None)
    return {
        "name": folder.name,
        "task": config.task,
        "architecture": config.architecture,
        "n_classes": config.n_labels,
        "description": config.description,
    }


def is_ensemble_folder(directory):
    """Whether the model folder ``directory`` holds an ensemble (``ensemble.json``)."""
    return (Path(directory) / ENSEMBLE_NAME).is_file()


def embedded_model_folder(name):
    """The folder of the embedded model ``name``
    (:func:`~cardionet_sk.list_pretrained`), or ``None``."""
    return EMBEDDED_DIR / name if name in list_pretrained() else None


def ensemble_member_folders(path, config):
    """The model folder of each member of the ensemble folder ``path`` (its checked
    ``ensemble.json``, :func:`read_ensemble_config`): ``members/<name>``, or the embedded
    model ``<name>`` for a member marked ``"embedded": true``."""
    folders = []
    for member in config.members:
        if not member.embedded:
            folders.append(path / "members" / member.name)
        elif (embedded := embedded_model_folder(member.name)) is not None:
            folders.append(embedded)
        else:
            raise ConfigError(
                f"{path / ENSEMBLE_NAME}: member {member.name!r} is the embedded model of "
                f"that name, which this installation of cardionet-sk {__version__} does not "
                f"have (it has {', '.join(list_pretrained()) or 'none'})."
            )
    return folders


def resolve_model_dir(
    repo_id_or_path,
    *,
    revision=None,
    cache_dir=None,
    force_download=False,
    token=None,
    local_files_only=False,
):
    """Find the folder of a model: embedded name, local path or Hub repository.

    ``None`` is the default embedded model. An embedded model's name, or the
    Hub repository it is published as, loads the embedded copy unless a
    ``revision`` or ``force_download`` asks for the Hub. Anything else that is
    not an existing folder is downloaded with
    :func:`huggingface_hub.snapshot_download` (or read from its cache).
    """
    embedded = {name: name for name in list_pretrained()}
    embedded.update({repo: name for name, repo in _EMBEDDED_REPO_IDS.items() if name in embedded})
    if repo_id_or_path is None:
        repo_id_or_path = DEFAULT_MODEL
    if repo_id_or_path in embedded and revision is None and not force_download:
        return EMBEDDED_DIR / embedded[repo_id_or_path]
    path = Path(repo_id_or_path).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise NotADirectoryError(
            f"{path} is a file; a pretrained model is a folder with "
            f"{CONFIG_NAME} and {WEIGHTS_NAME}."
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(
                repo_id_or_path,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
                library_name="cardionet-sk",
                library_version=__version__,
            )
        )
    except HFValidationError as exc:
        raise ValueError(
            f"{repo_id_or_path!r} is neither an existing folder, nor an embedded model "
            f"({', '.join(list_pretrained()) or 'none'}), nor a valid Hub repository id."
        ) from exc
    except LocalEntryNotFoundError as exc:
        raise OSError(
            f"Cannot resolve {repo_id_or_path!r}: it is not in the Hugging Face cache "
            f"({cache_dir or 'the default cache'}) and the Hub cannot be reached (offline, "
            "HF_HUB_OFFLINE=1 or local_files_only=True). Download it once with network access, "
            "or pass the path of a folder written by save_pretrained."
        ) from exc
