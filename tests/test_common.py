"""scikit-learn's common estimator checks, on every estimator of the package.

One table, ``CHECKED``, lists each estimator under the checks with the checks it is
expected to fail and why.
"""

import pytest
from _helpers import TINY
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

from cardionet_sk import (
    CalibratedMultilabelClassifierCV,
    CardioNetClassifier,
    MultilabelVotingClassifier,
    PriorShiftAdaptedClassifier,
    PTBXLWindower,
    ThresholdOptimizer,
)

# A network small enough that a fit takes a second on two CPU cores.

# -- why a check is expected to fail -----------------------------------------------------------

MULTICLASS = "the check trains on a multi-class y (0, 1, 2); labels here are 0/1 per class"
LABELS_1_2 = "the check's binary labels are 1 and 2; y must be 0/1 labels"
STRING_LABELS = "string labels are not 0/1 labels"
TUNED_NOT_HALF = "predictions follow the tuned thresholds, not probability 0.5 or argmax"
NO_N_FEATURES_IN = (
    "by design: the second axis is time and records of any length of at least one window can "
    "be transformed, so there is no n_features_in_; n_leads_in_ is checked instead"
)

CLASSIFIER_FAILURES = {
    "check_estimator_tags_renamed": (
        "scikeras.wrappers.BaseWrapper defines _more_tags without __sklearn_tags__; this class "
        "defines __sklearn_tags__, but the check inspects every class of the MRO"
    ),
    "check_classifiers_train": MULTICLASS,
    "check_estimators_dtypes": MULTICLASS,
    "check_sample_weights_shape": MULTICLASS,
    "check_sample_weights_not_overwritten": MULTICLASS,
    "check_fit2d_1feature": MULTICLASS,
    "check_classifiers_classes": STRING_LABELS,
    "check_sample_weights_pandas_series": LABELS_1_2,
    "check_sample_weights_not_an_array": MULTICLASS,
    "check_classifier_data_not_an_array": MULTICLASS,
    "check_class_weight_classifiers": (
        "class_weight is 'balanced' per label or None; a dict of class indices has no "
        "meaning for multi-label targets"
    ),
    "check_no_attributes_set_in_init": (
        "routed parameters (model__filters, ...) are attributes of the estimator, as scikeras "
        "keeps them, without a name in the signature; get_params returns them and clone "
        "copies them"
    ),
    "check_n_features_in_after_fitting": (
        "by design: a network of fixed input length scores records longer than its input by "
        "overlapping windows (any rate, any length from its minimum), so more 'features' "
        "(timesteps) are no error; fewer are, naming the minimum in seconds"
    ),
    "check_methods_sample_order_invariance": (
        "float32 network: on some CPUs (oneDNN/Eigen kernels) a record's probability changes in "
        "its last bit (~1e-7) with its row in the batch; the check asks float64 equality"
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch SGD with shuffling: repeating a record is not the same gradient path as "
        "doubling its weight"
    ),
}

OPTIMIZER_FAILURES = {
    "check_estimators_dtypes": LABELS_1_2,
    "check_classifier_data_not_an_array": LABELS_1_2,
    "check_fit2d_1feature": LABELS_1_2,
    "check_classifiers_classes": STRING_LABELS,
    "check_classifier_multioutput": TUNED_NOT_HALF,
}

CALIBRATION_FAILURES = {
    "check_estimators_dtypes": MULTICLASS,
    "check_classifier_data_not_an_array": LABELS_1_2,
    "check_fit2d_1feature": MULTICLASS,
    "check_classifiers_classes": STRING_LABELS,
    "check_classifier_multioutput": (
        "each class is positive in 28 to 34 of the check's 42 samples: some 5-fold test part "
        "holds only positives of a class, whose probabilities cannot be calibrated"
    ),
}

VOTING_FAILURES = {
    "check_estimators_dtypes": MULTICLASS,
    "check_classifier_data_not_an_array": MULTICLASS,
    "check_fit2d_1feature": MULTICLASS,
    "check_classifiers_classes": STRING_LABELS,
}

# The checks' y labels every row: the unfitted estimator is fitted on them, they give the
# source prevalences, and with no unlabelled (-1) row there is no target to adapt to.
PRIOR_SHIFT_FAILURES = {
    "check_estimators_dtypes": MULTICLASS,
    "check_classifier_data_not_an_array": LABELS_1_2,
    "check_fit2d_1feature": MULTICLASS,
    "check_classifiers_classes": STRING_LABELS,
    "check_non_transformer_estimators_n_iter": (
        "n_iter_ counts the EM steps on the unlabelled rows of fit; the checks' y marks none "
        "(no row of -1), so no step runs and n_iter_ is 0"
    ),
}

# sklearn's common checks feed (n_samples, n_features) data, read here as single-lead
# records of n_features timesteps; these checks assume features.
WINDOWER_FAILURES = {
    "check_n_features_in": NO_N_FEATURES_IN,
    "check_n_features_in_after_fitting": NO_N_FEATURES_IN,
    "check_transformer_general": (
        "only its last step fails, which expects an error for fewer 'features' (shorter "
        f"records) at transform; {NO_N_FEATURES_IN}"
    ),
}

#: Each estimator under the checks, by test id: the instance and its expected failures.
CHECKED = {
    # Input rule that lets the checks run: 2-D X is read as single-lead records, so the
    # checks' (n_samples, n_features) data become records of n_features timesteps.
    "CardioNetClassifier": (
        CardioNetClassifier(**TINY, validation_split=0, batch_size=8),
        CLASSIFIER_FAILURES,
    ),
    # Both predict_proba conventions: OneVsRestClassifier gives an (n, k) array,
    # KNeighborsClassifier a list of (n, 2) arrays. liblinear keeps the checks fast.
    "ThresholdOptimizer-OneVsRestClassifier": (
        ThresholdOptimizer(OneVsRestClassifier(LogisticRegression(solver="liblinear"))),
        {**OPTIMIZER_FAILURES, "check_classifiers_train": TUNED_NOT_HALF},
    ),
    # k-NN separates the check's blobs perfectly, so any tuned threshold predicts them
    # right and check_classifiers_train passes.
    "ThresholdOptimizer-KNeighborsClassifier": (
        ThresholdOptimizer(KNeighborsClassifier()),
        {
            **OPTIMIZER_FAILURES,
            "check_classifiers_multilabel_output_format_predict_proba": (
                "k-NN probabilities are vote fractions that reach 0 and 1; the check wants "
                "them strictly between"
            ),
        },
    ),
    # Both predict_proba conventions, as for ThresholdOptimizer.
    "CalibratedMultilabelClassifierCV-OneVsRestClassifier": (
        CalibratedMultilabelClassifierCV(
            OneVsRestClassifier(LogisticRegression(solver="liblinear"))
        ),
        CALIBRATION_FAILURES,
    ),
    "CalibratedMultilabelClassifierCV-KNeighborsClassifier": (
        CalibratedMultilabelClassifierCV(KNeighborsClassifier(), method="isotonic"),
        CALIBRATION_FAILURES,
    ),
    # Members of both predict_proba conventions in one vote.
    "MultilabelVotingClassifier": (
        MultilabelVotingClassifier(
            [
                ("ovr", OneVsRestClassifier(LogisticRegression(solver="liblinear"))),
                ("knn", KNeighborsClassifier()),
            ]
        ),
        VOTING_FAILURES,
    ),
    # Both predict_proba conventions, as for ThresholdOptimizer.
    "PriorShiftAdaptedClassifier-OneVsRestClassifier": (
        PriorShiftAdaptedClassifier(OneVsRestClassifier(LogisticRegression(solver="liblinear"))),
        PRIOR_SHIFT_FAILURES,
    ),
    "PriorShiftAdaptedClassifier-KNeighborsClassifier": (
        PriorShiftAdaptedClassifier(KNeighborsClassifier()),
        {
            **PRIOR_SHIFT_FAILURES,
            "check_classifiers_multilabel_output_format_predict_proba": (
                "k-NN probabilities are vote fractions that reach 0 and 1; the check wants "
                "them strictly between"
            ),
        },
    ),
    # window_size=1 lets the common checks' few-"timestep" data through; the other
    # instances put the global statistics and resampling under the checks.
    "PTBXLWindower": (PTBXLWindower(window_size=1), WINDOWER_FAILURES),
    "PTBXLWindower-global": (
        PTBXLWindower(window_size=1, normalize="global"),
        WINDOWER_FAILURES,
    ),
    "PTBXLWindower-resampled": (
        PTBXLWindower(window_size=1, input_sampling_rate=2, resample_to=1, normalize="record"),
        WINDOWER_FAILURES,
    ),
}

#: Checks that a wrong tag would skip silently; every estimator must run them.
TAG_DEPENDENT_CHECKS = {
    "check_estimators_pickle",
    "check_fit_idempotent",
    "check_methods_subset_invariance",
    "check_estimators_nan_inf",
    "check_fit1d",
}


def expected_failed_checks(estimator):
    return next(failures for checked, failures in CHECKED.values() if checked is estimator)


@parametrize_with_checks(
    [estimator for estimator, _ in CHECKED.values()],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_common_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator, expected_failures", CHECKED.values(), ids=CHECKED.keys())
def test_common_checks_really_run(estimator, expected_failures):
    # Since scikit-learn 1.6, parametrize_with_checks skips silently every check of an
    # estimator whose tags say it takes no 2-D input, and the checks that do not fit its
    # other tags: a wrong tag could leave the test above with nothing to test. The checks
    # it runs are those of estimator_checks_generator, listed here without running them a
    # second time; the test above runs each once, and fails on any not expected to.
    checks = [
        check
        for _, check in estimator_checks_generator(
            clone(estimator), expected_failed_checks=expected_failures
        )
    ]
    names = [getattr(check, "func", check).__name__ for check in checks]
    expected = [name for name in names if name in expected_failures]
    assert len(names) - len(expected) >= 40, names
    assert set(names) >= TAG_DEPENDENT_CHECKS
    if get_tags(estimator).transformer_tags is not None:
        assert "check_transformer_preserve_dtypes" in names
