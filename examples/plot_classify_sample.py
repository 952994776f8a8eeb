"""
Classify the bundled PTB-XL sample with the pretrained model
=============================================================

Load the 52 real PTB-XL records that ship with cardionet-sk and classify them with the
embedded CardioNet model: one probability per diagnostic superclass, and labels from the
per-class thresholds the model was tuned with. Nothing is downloaded.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# The sample and the model
# ------------------------
#
# :func:`~cardionet_sk.datasets.load_sample` returns a scikit-learn
# :class:`~sklearn.utils.Bunch`: 10 s records at 100 Hz in millivolts, the 12 leads in the
# PTB-XL order, and a 0/1 indicator matrix of the five superclasses.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import classification_report

from cardionet_sk import CardioNetClassifier, list_pretrained
from cardionet_sk.datasets import load_sample
from cardionet_sk.hub import DEFAULT_MODEL

sample = load_sample()
X, y = sample.data, sample.target
print("signals:", X.shape, X.dtype, "- labels:", y.shape)
print(
    "positives per class:",
    dict(zip(sample.target_names, y.sum(axis=0).tolist())),
)

# %%
# :meth:`~cardionet_sk.CardioNetClassifier.from_pretrained` without arguments loads the
# default embedded model, :data:`cardionet_sk.hub.DEFAULT_MODEL`: among the embedded models
# that classify at least 100 ECGs per second on two CPU cores, the fastest as accurate as the
# most accurate of them (trained on PTB-XL folds 1-8). :func:`~cardionet_sk.list_pretrained`
# describes each embedded model, and the thresholds are those
# :meth:`~cardionet_sk.CardioNetClassifier.predict` applies.

clf = CardioNetClassifier.from_pretrained()
details = {m["name"]: m for m in list_pretrained(details=True)}[DEFAULT_MODEL]
print(DEFAULT_MODEL, "-", details["architecture"])
print(details["description"])
print(
    "thresholds:", dict(zip(clf.classes_, np.round(clf.threshold, 3).tolist()))
)

# %%
# Probabilities and labels
# ------------------------
#
# The five classes are independent (multi-label): a record may have several, or none, so
# the rows of ``predict_proba`` need not sum to one.

proba = clf.predict_proba(X)
labels = clf.predict(X)


def names(row):
    """The class names of a 0/1 row, or '-' when it has none."""
    return " ".join(c for c, on in zip(clf.classes_, row) if on) or "-"


table = pd.DataFrame(proba.round(2), columns=clf.classes_, index=sample.ecg_id)
table.index.name = "ecg_id"
table["predicted"] = [names(row) for row in labels]
table["true"] = [names(row) for row in y]
table.head(12)

# %%
# All 52 records at a glance: the colour is the predicted probability, a dot marks each
# true label, and a frame marks each predicted label (probability at or above the class
# threshold).

order = np.lexsort(y.T[::-1])[::-1]  # records grouped by their true labels
fig, ax = plt.subplots(figsize=(9, 6.5), layout="constrained")
image = ax.imshow(proba[order].T, aspect="auto", cmap="Blues", vmin=0, vmax=1)
rows, cols = np.nonzero(y[order].T)
ax.scatter(
    cols,
    rows,
    s=16,
    color="black",
    edgecolors="white",
    linewidths=0.6,
    label="true label",
)
rows, cols = np.nonzero(labels[order].T)
ax.scatter(
    cols,
    rows,
    s=90,
    marker="s",
    facecolors="none",
    edgecolors="tab:orange",
    linewidths=1.5,
    label="predicted label",
)
ax.set_yticks(range(len(clf.classes_)), clf.classes_)
ax.set_xticks(range(len(order)), sample.ecg_id[order], rotation=90, fontsize=7)
ax.set_xlabel("PTB-XL ecg_id")
ax.set_title("Pretrained CardioNet on the 52 bundled records", loc="left")
ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False)
fig.colorbar(image, ax=ax, label="predicted probability", shrink=0.8)
plt.show()

# %%
# Scores on the sample
# --------------------
#
# Per-class precision, recall and F1 on the sample. Most of these records come from PTB-XL
# folds 1-8, which the model was trained on, so these numbers are optimistic; the
# held-out results (fold 9) are on the benchmarks page of the documentation.

folds, counts = np.unique(sample.fold, return_counts=True)
print("records per fold:", dict(zip(folds.tolist(), counts.tolist())))
print(
    classification_report(
        y, labels, target_names=list(clf.classes_), zero_division=0
    )
)
