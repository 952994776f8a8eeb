"""
Tuning one decision threshold per class
=======================================

A multi-label classifier turns each class's probability into a label with a threshold.
0.5 is rarely the best choice for every class: the best threshold differs between classes
and depends on how the network was trained. With the balanced class weights that
:class:`~cardionet_sk.CardioNetClassifier` uses by default, the probabilities of rare
classes are pushed up, so their best thresholds are often above 0.5. This example shows
how the F1 score of each class depends on its threshold, compares
the thresholds in use (0.5, those of the original CardioNet-XL release, and those the
embedded model was tuned with), and tunes thresholds with
:class:`~cardionet_sk.ThresholdOptimizer` for several objectives.

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
from sklearn.metrics import f1_score

from cardionet_sk import (
    PUBLISHED_THRESHOLDS,
    CardioNetClassifier,
    ThresholdOptimizer,
    apply_thresholds,
    tune_thresholds,
)
from cardionet_sk.datasets import load_sample

sample = load_sample()
X, y = sample.data, sample.target
clf = CardioNetClassifier.from_pretrained()
proba = clf.predict_proba(X)
classes = list(clf.classes_)

# %%
# F1 as a function of the threshold
# ---------------------------------
#
# Three sets of thresholds are marked on each class's curve:
#
# - 0.5, the default of :class:`~cardionet_sk.CardioNetClassifier`;
# - :data:`~cardionet_sk.PUBLISHED_THRESHOLDS`, hand-picked for the original CardioNet-XL
#   release (a different network, so not necessarily right for this one);
# - ``clf.threshold``, tuned for F1 when the embedded model was built, on records of PTB-XL
#   folds 1-8 held out from its training (its model card says so).
#
# With 10 to 22 positive records per class, the curves are coarse steps.

candidates = np.linspace(0.01, 0.99, 99)
marked = {
    "0.5": np.full(len(classes), 0.5),
    "published": [PUBLISHED_THRESHOLDS[c] for c in classes],
    "shipped": np.broadcast_to(clf.threshold, len(classes)),
}
styles = {
    "0.5": dict(marker="s", mfc="none", color="black"),
    "published": dict(marker="^", color="tab:green"),
    "shipped": dict(marker="o", color="tab:red"),
}


def f1_at(j, threshold):
    """F1 of class ``j`` on the sample at ``threshold``."""
    return f1_score(y[:, j], proba[:, j] >= threshold, zero_division=0)


fig, axes = plt.subplots(
    2, 3, figsize=(11, 6.4), sharex=True, sharey=True, layout="constrained"
)
for j, (name, ax) in enumerate(zip(classes, axes.flat)):
    ax.plot(candidates, [f1_at(j, t) for t in candidates], color="tab:blue")
    for label, thresholds in marked.items():
        t = thresholds[j]
        ax.plot(t, f1_at(j, t), ls="none", ms=9, label=label, **styles[label])
    ax.set_title(f"{name} ({y[:, j].sum()} positives)")
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
for ax in [*axes[-1, :-1], axes[0, -1]]:
    ax.set_xlabel("threshold")
    ax.tick_params(labelbottom=True)
for ax in axes[:, 0]:
    ax.set_ylabel("F1 on the sample")
handles, labels = axes[0, 0].get_legend_handles_labels()
axes[-1, -1].axis("off")
axes[-1, -1].legend(handles, labels, loc="center", title="thresholds")
plt.show()

# %%
# Tuning with ``ThresholdOptimizer``
# ----------------------------------
#
# :class:`~cardionet_sk.ThresholdOptimizer` searches, for each class, the threshold that
# maximises an objective. With ``cv="prefit"`` it uses an already fitted classifier and
# tunes on the data passed to ``fit``. Here that is the sample itself, so the tuned
# thresholds fit these 52 records and would look too good if we scored them on the same
# records: in practice tune on held-out records (PTB-XL fold 9, or the validation records
# of training) and report on others.

objectives = {
    "f1": {},
    "youden": {},
    "mcc": {},
    "specificity_at_sensitivity": {"min_sensitivity": 0.9},
}
tuned = {
    name: ThresholdOptimizer(clf, objective=name, cv="prefit", **kwargs).fit(
        X, y
    )
    for name, kwargs in objectives.items()
}
table = pd.DataFrame(
    {name: opt.thresholds_ for name, opt in tuned.items()}, index=classes
)
table.insert(
    0, "model (held-out, F1)", np.broadcast_to(clf.threshold, len(classes))
)
table.insert(0, "published", [PUBLISHED_THRESHOLDS[c] for c in classes])
table.round(3)

# %%
# ``best_scores_`` holds the value each threshold reaches; for
# ``"specificity_at_sensitivity"`` it is the specificity left once at least 90 % of each
# class's positive records are found:

pd.DataFrame(
    {name: opt.best_scores_ for name, opt in tuned.items()}, index=classes
).round(3)

# %%
# The same search without a wrapper estimator: :func:`~cardionet_sk.tune_thresholds`
# tunes on probabilities already computed (here ``proba`` above), and
# :func:`~cardionet_sk.apply_thresholds` turns probabilities into labels with the result.
# That is what ``ThresholdOptimizer(clf, cv="prefit")`` does inside ``fit`` and
# ``predict``.

f1_thresholds, f1_scores = tune_thresholds(y, proba, objective="f1")
assert np.array_equal(f1_thresholds, tuned["f1"].thresholds_)
assert np.array_equal(
    apply_thresholds(proba, f1_thresholds), tuned["f1"].predict(X)
)
print("F1 thresholds:", dict(zip(classes, f1_thresholds.round(3).tolist())))

# %%
# A tuned :class:`~cardionet_sk.ThresholdOptimizer` predicts with its thresholds, and the
# thresholds can be carried over into the classifier itself:

screening = tuned["specificity_at_sensitivity"]
labels = screening.predict(X)
clf_screening = CardioNetClassifier.from_pretrained().set_params(
    threshold=screening.thresholds_
)
assert (clf_screening.predict(X) == labels).all()
print(
    "records labelled per class:",
    dict(zip(classes, labels.sum(axis=0).tolist())),
)

# %%
# Cross-validated tuning while training
# -------------------------------------
#
# With an unfitted classifier and an integer ``cv``, the thresholds are tuned on pooled
# out-of-fold probabilities: each record's probability comes from a network that did not
# see it, and the network is then refitted on all records. A tiny network keeps this short
# (five fits: 57 s on 2 busy CPU cores); on 52 records its thresholds are rough, but the procedure
# is the one to use on real data. ``class_names`` names the columns of the plain 0/1
# ``y``, so that ``classes_`` reads NORM ... HYP instead of 0 ... 4.

tiny = CardioNetClassifier(
    model__filters=(8, 16),
    model__kernel_sizes=(7, 5),
    model__dense_units=16,
    epochs=5,
    validation_split=0,
    class_names=sample.target_names,
    random_state=0,
)
cv_tuned = ThresholdOptimizer(tiny, objective="f1", cv=4, random_state=0).fit(
    X, y
)
pd.DataFrame(
    {
        "threshold": cv_tuned.thresholds_,
        "out-of-fold F1": cv_tuned.best_scores_,
    },
    index=cv_tuned.classes_,
).round(3)
