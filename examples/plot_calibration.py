"""
Reliability diagrams before and after calibration
=================================================

A probability of 0.3 should come true about 30 % of the time. The network of the
pretrained model, trained with balanced class weights, gives rare classes scores that are
too high; the model therefore ships one calibration map per class, fitted on records of
folds 1-8 held out from training (see :ref:`probabilities`). This example compares the
network's raw scores, ``calibration=False``, with the shipped calibrated probabilities in
reliability diagrams (:class:`~sklearn.calibration.CalibrationDisplay`): the observed
frequency of each class against the mean predicted probability, in bins.

The records are PTB-XL fold 9, which played no part in training or calibrating the model,
when PTB-XL is in the data home (:func:`~cardionet_sk.datasets.fetch_ptbxl`); otherwise
the 52 records of :func:`~cardionet_sk.datasets.load_sample`, most of them training
records and far too few for smooth curves.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# The records
# -----------

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import brier_score_loss

from cardionet_sk import CardioNetClassifier, apply_calibration
from cardionet_sk.datasets import fetch_ptbxl, get_data_home, load_sample


def fold9_home():
    """A data home holding PTB-XL fold 9, or None.

    The one of :func:`get_data_home` if PTB-XL was downloaded there; else, in a
    development checkout, fold 9 unpacked from the offline copy in ``../shared``.
    """
    if (Path(get_data_home()) / "ptbxl" / "ptbxl_database.csv").is_file():
        return get_data_home()
    here = (
        Path(globals().get("__file__", "plot_calibration.py")).resolve().parent
    )
    unpack = here.parents[1] / "shared" / "data" / "ptbxl" / "unpack.py"
    if not unpack.is_file():
        return None
    home = Path(tempfile.mkdtemp(prefix="ptbxl-"))
    command = [
        sys.executable,
        str(unpack),
        str(home / "ptbxl"),
        "--folds",
        "9",
    ]
    subprocess.run(command, check=True, capture_output=True)
    return home


home = fold9_home()
if home is not None:
    data = fetch_ptbxl(home, folds=[9], download_if_missing=False)
    source, n_bins = "PTB-XL fold 9", 10
else:
    data = load_sample()
    source, n_bins = "the bundled sample", 4
X, y = data.data, data.target
print(f"{source}: {len(X)} records")

# %%
# Raw and calibrated probabilities
# --------------------------------
#
# ``calibration=False`` gives the network's own scores. The shipped maps are plain numbers,
# ``clf.calibration_maps_``; :func:`~cardionet_sk.apply_calibration` maps the raw scores with
# them, which is what ``predict_proba`` does when ``calibration`` is set. Predicting once
# and calibrating afterwards saves a second pass through the network.

clf = CardioNetClassifier.from_pretrained("cardionet-ptbxl")
maps = clf.calibration_maps_
print("shipped maps:", [m["method"] for m in maps])
raw = clf.set_params(calibration=False).predict_proba(X)
calibrated = apply_calibration(raw, maps)
classes = list(clf.classes_)

# %%
# Reliability diagrams
# --------------------
#
# One panel per class. A calibrated model follows the diagonal; points below it are
# overconfident (the class is rarer than predicted).

fig, axes = plt.subplots(
    1, len(classes), figsize=(15, 3.6), layout="constrained"
)
for k, (ax, name) in enumerate(zip(axes, classes)):
    for proba, label in [(raw, "raw"), (calibrated, "calibrated")]:
        CalibrationDisplay.from_predictions(
            y[:, k], proba[:, k], n_bins=n_bins, name=label, ax=ax
        )
    ax.set_title(f"{name} ({int(y[:, k].sum())} positive)")
    ax.set(xlabel="mean predicted probability", ylabel="")
    ax.legend(fontsize=8, loc="upper left")
axes[0].set_ylabel("observed frequency")
fig.suptitle(
    f"cardionet-ptbxl on {source}: raw scores and shipped calibration"
)
plt.show()

# %%
# Expected calibration error and Brier score
# ------------------------------------------
#
# The expected calibration error (ECE) is the gap between predicted and observed
# frequency, averaged over bins weighted by their records; the Brier score is the mean
# squared error of the probabilities. Both are lower when calibrated.


def expected_calibration_error(y_true, proba, n_bins):
    bins = np.minimum((proba * n_bins).astype(int), n_bins - 1)
    gaps = [
        abs(y_true[bins == b].mean() - proba[bins == b].mean())
        * np.mean(bins == b)
        for b in np.unique(bins)
    ]
    return float(np.sum(gaps))


pd.DataFrame(
    {
        f"{metric} {label}": [
            function(y[:, k], proba[:, k]) for k in range(len(classes))
        ]
        for label, proba in [("raw", raw), ("calibrated", calibrated)]
        for metric, function in [
            ("ECE", lambda t, p: expected_calibration_error(t, p, n_bins)),
            ("Brier", brier_score_loss),
        ]
    },
    index=classes,
).round(3)

# %%
# Notes
# -----
#
# - The shipped thresholds (``clf.threshold``) were tuned on the calibrated scale: with
#   ``calibration=False``, tune them again before calling ``predict``.
# - Calibration holds for records like PTB-XL's. Where a class is rarer or more common, the
#   probabilities shift with it; calibrate on records of that population
#   (:func:`~cardionet_sk.fit_calibration_maps`,
#   :class:`~cardionet_sk.CalibratedMultilabelClassifierCV`).
