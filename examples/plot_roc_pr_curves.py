"""
ROC and precision-recall curves with the tuned operating points
===============================================================

For each diagnostic superclass, the ROC curve and the precision-recall curve of the
pretrained model on the bundled PTB-XL sample, with the operating point of the model's
tuned threshold (``clf.threshold``) marked, and that of the default threshold 0.5 for
comparison.

52 records make ragged curves, and most of them were in the model's training folds, so
these curves are optimistic. The curves on the held-out PTB-XL fold 9 are on the
benchmarks page of the documentation.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# Probabilities of the pretrained model
# -------------------------------------

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import load_sample

sample = load_sample()
clf = CardioNetClassifier.from_pretrained()
proba = clf.predict_proba(sample.data)
y = sample.target
thresholds = np.broadcast_to(clf.threshold, len(clf.classes_))

print(
    "macro ROC AUC on the sample:",
    round(roc_auc_score(y, proba, average="macro"), 3),
)

# %%
# Operating points
# ----------------
#
# A threshold ``t`` labels a record positive when its probability is at least ``t``. Its
# operating point is the (false positive rate, true positive rate) pair on the ROC curve and
# the (recall, precision) pair on the precision-recall curve.


def operating_point(y_true, scores, threshold):
    """False positive rate, recall and precision at ``threshold``."""
    predicted = scores >= threshold
    tp = np.sum(predicted & (y_true == 1))
    fp = np.sum(predicted & (y_true == 0))
    recall = tp / max(np.sum(y_true == 1), 1)
    fpr = fp / max(np.sum(y_true == 0), 1)
    precision = tp / (tp + fp) if tp + fp else 1.0
    return fpr, recall, precision


# %%
# The curves
# ----------
#
# One colour per class. Filled circles are the operating points of the tuned
# thresholds, open squares those of 0.5.

fig, (roc_ax, pr_ax) = plt.subplots(
    1, 2, figsize=(11, 5.4), layout="constrained"
)
for j, name in enumerate(clf.classes_):
    color = f"C{j}"
    fpr, tpr, _ = roc_curve(y[:, j], proba[:, j])
    precision, recall, _ = precision_recall_curve(y[:, j], proba[:, j])
    auc = roc_auc_score(y[:, j], proba[:, j])
    ap = average_precision_score(y[:, j], proba[:, j])
    roc_ax.plot(fpr, tpr, color=color, label=f"{name} (AUC {auc:.2f})")
    pr_ax.plot(
        recall,
        precision,
        color=color,
        drawstyle="steps-post",
        label=f"{name} (AP {ap:.2f})",
    )

    for t, marker, face in [(thresholds[j], "o", color), (0.5, "s", "none")]:
        fpr_t, recall_t, precision_t = operating_point(y[:, j], proba[:, j], t)
        style = dict(marker=marker, mfc=face, mec=color, mew=1.5, ms=9)
        roc_ax.plot(fpr_t, recall_t, **style)
        pr_ax.plot(recall_t, precision_t, **style)

roc_ax.plot([0, 1], [0, 1], ls=":", color="gray")
roc_ax.set(
    xlabel="false positive rate",
    ylabel="true positive rate (recall)",
    title="ROC curves",
)
pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall curves")
for ax in (roc_ax, pr_ax):
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.04), aspect="equal")
roc_ax.legend(loc="lower right", fontsize=9)
pr_ax.legend(loc="lower left", fontsize=9)
fig.suptitle(
    f"Pretrained CardioNet on the {len(y)} bundled PTB-XL records: "
    "tuned thresholds (filled) and 0.5 (open)"
)
plt.show()

# %%
# Reading the operating points
# ----------------------------
#
# The thresholds of the embedded model were tuned to maximise each class's F1 score on
# records of PTB-XL folds 1-8 held out from its training, not on these records. Moving a
# threshold down moves the operating point up and to the right along the ROC curve, finding
# more of the true cases at the cost of more false alarms; moving it up does the opposite.
# Which point is right depends on what a missed case and a false alarm
# cost, which is why :class:`~cardionet_sk.ThresholdOptimizer` offers several objectives
# (see the threshold tuning example).

points = pd.DataFrame(
    [
        operating_point(y[:, j], proba[:, j], thresholds[j])
        for j in range(len(clf.classes_))
    ],
    index=clf.classes_,
    columns=["false positive rate", "recall", "precision"],
)
points.insert(0, "threshold", thresholds)
points.round(2)
