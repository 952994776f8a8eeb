"""
Pipeline and grid search on ECG records
=======================================

:class:`~cardionet_sk.PTBXLWindower` and :class:`~cardionet_sk.CardioNetClassifier` are
scikit-learn estimators, so a windowing step and the network go into one
:class:`~sklearn.pipeline.Pipeline`, and :class:`~sklearn.model_selection.GridSearchCV`
searches the parameters of both with cross-validation.

To run on a CPU in a few minutes (the whole example took 136 s on 2 busy CPU cores), the
search uses a tiny network trained for a few epochs on the 52 bundled PTB-XL records. Its
scores say little about ECG classification; the point is the mechanics, which are the same
for the full network on PTB-XL.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# The pipeline
# ------------
#
# The windower cuts each 10 s record into 2.5 s windows every 1.25 s (seven windows); the
# classifier trains on every window with its record's labels and averages the window
# probabilities back into one row per record. ``random_state`` makes every fit
# reproducible, so candidates are compared on an equal footing.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from cardionet_sk import CardioNetClassifier, PTBXLWindower
from cardionet_sk.datasets import load_sample

X, y = load_sample(return_X_y=True)

tiny = CardioNetClassifier(
    model__filters=(8, 16),
    model__kernel_sizes=(7, 5),
    model__dense_units=16,
    epochs=12,
    batch_size=64,
    validation_split=0,
    random_state=0,
)
window = PTBXLWindower(window_size=250, stride=125)
pipe = Pipeline([("window", window), ("clf", tiny)])
pipe

# %%
# The search
# ----------
#
# Parameters of the steps are addressed as ``<step>__<parameter>``; the classifier's
# scikeras-style routed parameters nest once more, e.g. ``clf__optimizer__beta_1``. The
# score is the macro ROC AUC, the PTB-XL benchmark's metric, computed from
# ``predict_proba``. Three folds of a shuffled :class:`~sklearn.model_selection.KFold` (a
# multi-label target cannot be stratified) leave every class with positive and negative
# records in each test fold. The 52 sample records are of 52 patients, so no patient can
# sit on both sides of a split; on PTB-XL, whose patients may have several records, use
# ``GroupKFold`` and ``search.fit(X, y, groups=data.patient_id)``.

macro_auc = make_scorer(
    roc_auc_score, average="macro", response_method="predict_proba"
)
grid = {
    "window__normalize": [None, "record"],
    "clf__learning_rate": [1e-3, 1e-2],
}
cv = KFold(3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, grid, cv=cv, scoring=macro_auc)
search.fit(X, y)

print("best parameters:", search.best_params_)
print(f"best cross-validated macro AUC: {search.best_score_:.3f}")

# %%
# The results of every candidate are in ``cv_results_``:

results = pd.DataFrame(search.cv_results_)
params = search.cv_results_["params"]
table = pd.DataFrame(
    {
        "normalize": [str(p["window__normalize"]) for p in params],
        "learning rate": [p["clf__learning_rate"] for p in params],
        "mean AUC": results["mean_test_score"],
        "std": results["std_test_score"],
        "fit (s)": results["mean_fit_time"],
        "rank": results["rank_test_score"],
    }
)
table.sort_values("rank").round(3)

# %%
# Mean and spread of the fold scores of each candidate. With 17 test records per fold the
# spread is wide: a search on 52 records cannot tell these settings apart reliably.

labels = [
    f"normalize={p['window__normalize']}\nlr={p['clf__learning_rate']:g}"
    for p in params
]
splits = [f"split{k}_test_score" for k in range(search.n_splits_)]
fold_scores = results[splits].to_numpy()
positions = np.arange(len(labels))

fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
means = results["mean_test_score"]
ax.bar(positions, means, color="tab:blue", alpha=0.6, label="mean")
for k, scores in enumerate(fold_scores.T):
    label = "fold" if k == 0 else None
    ax.plot(positions, scores, "o", color="black", ms=4, label=label)
ax.axhline(0.5, ls=":", color="gray", label="chance")
ax.set_xticks(positions, labels)
ax.set(ylabel="macro ROC AUC", ylim=(0, 1))
ax.set_title("GridSearchCV on the bundled sample")
ax.legend(loc="lower right", fontsize=8)
plt.show()

# %%
# The refitted best pipeline
# --------------------------
#
# ``refit=True`` (the default) retrains the best candidate on all records:
# ``best_estimator_`` is an ordinary fitted pipeline that predicts, pickles and clones.

best = search.best_estimator_
print("windows per record:", best["window"].transform(X[:1]).shape[1])
print("probabilities:", best.predict_proba(X[:3]).round(2))

# %%
# Thresholds inside the search
# ----------------------------
#
# Wrapping the classifier in :class:`~cardionet_sk.ThresholdOptimizer` tunes per-class
# thresholds inside each training fold, so threshold-dependent scores such as macro F1 are
# measured honestly, and the objective becomes a searchable parameter too:
#
# .. code-block:: python
#
#    from sklearn.metrics import f1_score
#    from cardionet_sk import ThresholdOptimizer
#
#    pipe = Pipeline([
#        ("window", PTBXLWindower(250, 125)),
#        ("clf", ThresholdOptimizer(CardioNetClassifier(epochs=20, random_state=0),
#                                   cv=0.25, refit=False, random_state=0)),
#    ])
#    grid = {"clf__estimator__dropout": [0.3, 0.5], "clf__objective": ["f1", "mcc"]}
#    GridSearchCV(pipe, grid, cv=GroupKFold(3),
#                 scoring=make_scorer(f1_score, average="macro", zero_division=0),
#                 ).fit(data.data, data.target, groups=data.patient_id)
#
# For searches too large for one machine, see the distributed search page of the user
# guide.
