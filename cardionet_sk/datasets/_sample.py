"""A small sample of real PTB-XL records shipped with the package."""

import numpy as np
import pandas as pd

from ._base import _load_descr, _package_file
from ._ptbxl import _parse_scp_codes, _ptbxl_bunch
from ._records import _digital_to_millivolts

#: Files written by ``benchmarks/make_sample.py``, in ``cardionet_sk/datasets/data``.
SAMPLE_SIGNALS = "ptbxl_sample.npz"
SAMPLE_METADATA = "ptbxl_sample.csv"


def load_sample(*, return_X_y=False, as_frame=False):
    """Load a small sample of real 100 Hz PTB-XL records shipped with the package.

    The sample holds 52 records of PTB-XL v1.0.1 folds 1-9, drawn with a fixed
    seed so that each diagnostic superclass has at least ten records and two
    records carry none. It needs no download and is meant for examples, tests
    and quick experiments, not for evaluating models.

    ========================  =============================
    Records                   52
    Timesteps per record      1000 (10 s at 100 Hz)
    Leads                     12
    Classes (multi-label)     5: NORM, MI, STTC, CD, HYP
    ========================  =============================

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        If True, ``target`` is a DataFrame with one column per superclass,
        indexed by ``ecg_id``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the same attributes as the one returned by
        :func:`fetch_ptbxl`:

        data : ndarray of shape (52, 1000, 12), dtype float32
            The signals in millivolts.
        target : ndarray of shape (52, 5), dtype int64, or DataFrame
            Multi-label indicator of the superclasses ``target_names``.
        target_names : ndarray of shape (5,)
            ``NORM, MI, STTC, CD, HYP``.
        lead_names : ndarray of shape (12,)
            ``I, II, III, AVR, AVL, AVF, V1, ..., V6``.
        sampling_rate : int
            100.
        fold : ndarray of shape (52,)
            The PTB-XL stratified fold (``strat_fold``) of each record.
        ecg_id, patient_id : ndarray of shape (52,)
            Record and patient identifiers.
        age : ndarray of shape (52,), dtype float64
            The patient's age in years, as in :func:`fetch_ptbxl`.
        sex : ndarray of shape (52,), dtype int64
            0 for male, 1 for female.
        frame : DataFrame of shape (52, 5)
            Metadata indexed by ``ecg_id``: ``patient_id``, ``age``, ``sex``,
            ``strat_fold`` and ``scp_codes`` (dicts of SCP code to likelihood).
        DESCR : str
            Description of the sample, with its source and licence.

    (data, target) : tuple if ``return_X_y`` is True

    See Also
    --------
    fetch_ptbxl : Load the full PTB-XL dataset.

    Notes
    -----
    PTB-XL, Wagner et al. 2020, PhysioNet, https://doi.org/10.13026/x4td-x982,
    CC BY 4.0.

    Examples
    --------
    >>> from cardionet_sk.datasets import load_sample
    >>> sample = load_sample()
    >>> sample.data.shape, sample.data.dtype
    ((52, 1000, 12), dtype('float32'))
    >>> sample.target_names.tolist()
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    >>> X, y = load_sample(return_X_y=True, as_frame=True)
    >>> y.columns.tolist()
    ['NORM', 'MI', 'STTC', 'CD', 'HYP']
    """
    with _package_file("data", SAMPLE_SIGNALS).open("rb") as f, np.load(f) as arrays:
        data = _digital_to_millivolts(
            arrays["digital"],
            arrays["baseline"][:, np.newaxis, :],
            arrays["adc_gain"][:, np.newaxis, :],
            arrays["scale"][:, np.newaxis, :],
        ).astype(np.float32)
        target = arrays["target"].astype(np.int64)
    with _package_file("data", SAMPLE_METADATA).open("r", encoding="utf-8") as f:
        frame = pd.read_csv(f, index_col="ecg_id")
    frame["scp_codes"] = _parse_scp_codes(frame["scp_codes"], source=SAMPLE_METADATA)
    return _ptbxl_bunch(
        data,
        target,
        frame,
        sampling_rate=100,
        descr=_load_descr("ptbxl_sample.rst"),
        return_X_y=return_X_y,
        as_frame=as_frame,
    )
