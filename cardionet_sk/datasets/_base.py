"""Data home, package resources and the Bunch shared by every loader."""

import os
import shutil
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

#: Environment variable that moves the default data home.
DATA_HOME_ENV = "CARDIONET_SK_DATA"


def get_data_home(data_home=None):
    """Return the path of the cardionet-sk data directory.

    Large datasets such as PTB-XL are downloaded there once and reused. The
    folder is created if it does not exist.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data directory. If None, the ``CARDIONET_SK_DATA`` environment
        variable is used when set, else ``~/cardionet_sk_data``. A leading
        ``~`` is expanded to the user's home folder.

    Returns
    -------
    data_home : str
        The path of the data directory.

    See Also
    --------
    clear_data_home : Delete the data directory and everything in it.

    Examples
    --------
    >>> import os, tempfile
    >>> from cardionet_sk.datasets import get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "ecg"))
    >>> os.path.isdir(home)
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV, os.path.join("~", "cardionet_sk_data"))
    data_home = os.path.expanduser(os.fspath(data_home))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def clear_data_home(data_home=None):
    """Delete the cardionet-sk data directory and everything in it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data directory, resolved as in :func:`get_data_home`.

    See Also
    --------
    get_data_home : Return the path of the data directory.

    Examples
    --------
    >>> import os, tempfile
    >>> from cardionet_sk.datasets import clear_data_home, get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "ecg"))
    >>> clear_data_home(home)
    >>> os.path.exists(home)
    False
    """
    shutil.rmtree(get_data_home(data_home))


def _package_file(*parts):
    """A resource shipped inside ``cardionet_sk.datasets``."""
    return resources.files(__package__).joinpath(*parts)


def _load_descr(name):
    return _package_file("descr", name).read_text(encoding="utf-8")


def _make_bunch(data, target, *, target_names, index, descr, return_X_y, as_frame, **fields):
    """Assemble what a loader returns, ``(data, target)`` or a Bunch.

    With ``as_frame``, ``target`` becomes a DataFrame indexed by ``index``
    with one column per target name. ``fields`` are the loader's own Bunch
    attributes, such as record identifiers aligned with ``data``.
    """
    if as_frame:
        target = pd.DataFrame(target, index=index, columns=list(target_names))
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        target_names=np.asarray(target_names, dtype=object),
        **fields,
        DESCR=descr,
    )
