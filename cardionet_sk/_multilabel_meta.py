"""What the package's multi-label meta-estimators share: targets, class names, tags, routing.

:class:`~cardionet_sk.ThresholdOptimizer` and
:class:`~cardionet_sk.CalibratedMultilabelClassifierCV` both wrap any
classifier with ``predict_proba``, take a 0/1 indicator matrix (or a binary
vector), route metadata to the estimator's ``fit`` and the splitter's
``split``, and accept whatever input the estimator accepts.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import indexable

from ._compat import raise_for_params
from ._validation import check_multilabel_y


class MultilabelMetaClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Base of the meta-estimators over a multi-label classifier's probabilities.

    Subclasses define ``estimator`` and ``cv`` parameters and their own ``fit``.
    """

    def _check_target(self, X, y, params):
        """Validate ``(X, y)`` and the metadata of ``fit``.

        Returns ``X``, ``y``, the 0/1 indicator of ``y``, its class names (or
        ``None``) and the routed parameters; records whether ``y`` is binary.
        """
        raise_for_params(params, self, "fit")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X, y = indexable(X, y)
        y_indicator, class_names = check_multilabel_y(y)
        self._binary = np.ndim(y) == 1
        return X, y, y_indicator, class_names, process_routing(self, "fit", **params)

    def _class_names(self, estimator, class_names, n_classes):
        """``[0, 1]`` for a binary target; else ``y``'s names, the estimator's, or indices."""
        if self._binary:
            return np.array([0, 1])
        if class_names is not None:
            return class_names
        estimator_classes = getattr(estimator, "classes_", None)
        if (
            isinstance(estimator_classes, np.ndarray)
            and estimator_classes.shape == (n_classes,)
            and all(isinstance(name, str) for name in estimator_classes)
        ):
            return estimator_classes
        return np.arange(n_classes)

    def _copy_input_attributes(self, estimator):
        """Copy the fitted estimator's ``n_features_in_`` and ``feature_names_in_``, if any."""
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(estimator, name):
                setattr(self, name, getattr(estimator, name))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        # X reaches the estimator untouched, so it accepts what the estimator does.
        tags.input_tags = get_tags(self._input_estimator()).input_tags
        return tags

    def _input_estimator(self):
        """The estimator that takes ``X`` as it is given."""
        return self.estimator

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        Please check :ref:`User Guide <metadata_routing>` on how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return (
            MetadataRouter(owner=self)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping().add(callee="fit", caller="fit"),
            )
            .add(
                splitter=self.cv,
                method_mapping=MethodMapping().add(callee="split", caller="fit"),
            )
        )
