"""
Fine-tune on your own labels
============================

A network trained on PTB-XL's five diagnostic superclasses has learned what ECGs look
like; a model for other labels can start from it instead of from random weights.
``CardioNetClassifier(init="resnet1d-wang-ptbxl")`` takes the pretrained network, puts a
new output layer on it for the columns of ``y``, and trains as usual: with few labelled
records it learns faster and ends better than the same network trained from scratch (see
:ref:`finetuning`).

Here the "own labels" are PTB-XL's 12 rhythm statements, which the pretrained model never
saw, on the records of PTB-XL fold 9 when it is in the data home (half of its patients
train, the other half test), otherwise on the 52 bundled sample records, far too few to
tell the two apart. A few epochs each keep it to minutes on a CPU.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# The records and their labels
# ----------------------------

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import fetch_ptbxl, get_data_home, load_sample


def fold9_home():
    """A data home holding PTB-XL fold 9, or None (as in the calibration example)."""
    if (Path(get_data_home()) / "ptbxl" / "ptbxl_database.csv").is_file():
        return get_data_home()
    here = Path(globals().get("__file__", "plot_finetune.py")).resolve().parent
    unpack = here.parents[1] / "shared" / "data" / "ptbxl" / "unpack.py"
    if not unpack.is_file():
        return None
    home = Path(tempfile.mkdtemp(prefix="ptbxl-"))
    subprocess.run(
        [sys.executable, str(unpack), str(home / "ptbxl"), "--folds", "9"],
        check=True,
        capture_output=True,
    )
    return home


home = fold9_home()
if home is not None:
    data = fetch_ptbxl(home, task="rhythm", folds=[9], drop_unlabelled=True)
    epochs = 6
else:  # the five superclasses: the example then only shows the calls
    data = load_sample()
    epochs = 1
X, y, groups = data.data, data.target, data.patient_id
split = GroupShuffleSplit(1, test_size=0.5, random_state=0)
train, test = next(split.split(X, y, groups))
# A statement that no training record carries (or every one does) cannot be
# learned: it is left out.
counts = y[train].sum(axis=0)
learnable = (counts > 0) & (counts < len(train))
y = y[:, learnable]
names = [n for n, keep in zip(data.target_names, learnable) if keep]
print(f"{len(train)} training, {len(test)} test records")
print(f"labels: {', '.join(names)}")

# %%
# From scratch, and from the pretrained network
# ---------------------------------------------
#
# Both use the pretrained model's recipe: random 2.5 s crops, one pass over the whole
# record at prediction. The fine-tuned one trains only its new output layer for the first
# epoch (``init__freeze_epochs=1``), then the whole network at a lower learning rate; it also
# keeps the pretrained per-lead standardisation (``init__standardization=True``, the default).

recipe = dict(
    architecture="resnet1d_wang",
    crop_size=250,
    crop_inference="whole",
    batch_size=64,
    lr_schedule="one_cycle",
    epochs=epochs,
    validation_split=0.2,
    monitor="val_macro_auc",
    patience=epochs,
    class_names=names,
    random_state=0,
)
scratch = CardioNetClassifier(**recipe, learning_rate=1e-2)
finetuned = CardioNetClassifier(
    **recipe,
    init="resnet1d-wang-ptbxl",
    init__freeze_epochs=1,
    learning_rate=3e-3,
)
for clf in (scratch, finetuned):
    clf.fit(X[train], y[train], groups=groups[train])

# %%
# On the test patients
# --------------------
#
# ROC AUC per statement that has positive and negative test records.

scored = [k for k in range(y.shape[1]) if 0 < y[test, k].sum() < len(test)]
auc = {
    label: [roc_auc_score(y[test, k], proba[:, k]) for k in scored]
    for label, proba in (
        ("from scratch", scratch.predict_proba(X[test])),
        ("fine-tuned", finetuned.predict_proba(X[test])),
    )
}
for label, values in auc.items():
    print(f"{label}: macro AUC {np.mean(values):.3f}")

fig, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
width = 0.4
positions = np.arange(len(scored))
for i, (label, values) in enumerate(auc.items()):
    ax.bar(
        positions + (i - 0.5) * width,
        values,
        width,
        label=f"{label} ({np.mean(values):.3f})",
    )
ax.set_xticks(positions, [names[k] for k in scored], rotation=45, ha="right")
ax.set(
    ylim=(0.4, 1.0),
    ylabel="ROC AUC",
    title="Statements the pretrained model never saw",
)
ax.legend(loc="lower right")
plt.show()

# %%
# In a scikit-learn workflow
# --------------------------
#
# ``init`` is a parameter like any other: it survives :func:`~sklearn.base.clone`, so a
# :class:`~sklearn.model_selection.GridSearchCV` can compare starting points, or tune
# ``init__freeze_epochs``, with ``groups`` keeping each patient's records on one side::
#
#     GridSearchCV(
#         CardioNetClassifier(**recipe),
#         {"init": [None, "resnet1d-wang-ptbxl"], "init__freeze_epochs": [0, 1]},
#         cv=GroupKFold(3), scoring="roc_auc",
#     ).fit(X, y, groups=groups)
#
# The records must match the pretrained input contract (12 leads, 10 s at 100 Hz in mV);
# ``fit`` says which part does not.
