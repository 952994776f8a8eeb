"""Per-label class-weighted binary cross-entropy."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="cardionet_sk")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy with one positive and one negative weight per label.

    Keras' ``class_weight`` only understands single-output class indices, so
    multi-label weighting has to live in the loss. With all weights equal to
    one this is exactly ``keras.losses.BinaryCrossentropy``.

    Parameters
    ----------
    positive_weights, negative_weights : sequence of float of length n_labels
        Weight of the positive and of the negative term of each label.
    """

    def __init__(
        self, positive_weights, negative_weights, name="weighted_binary_crossentropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(w) for w in positive_weights]
        self.negative_weights = [float(w) for w in negative_weights]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        epsilon = keras.config.epsilon()
        y_pred = ops.clip(y_pred, epsilon, 1.0 - epsilon)
        positive = ops.convert_to_tensor(self.positive_weights, dtype=y_pred.dtype)
        negative = ops.convert_to_tensor(self.negative_weights, dtype=y_pred.dtype)
        per_label = -(
            positive * y_true * ops.log(y_pred) + negative * (1.0 - y_true) * ops.log(1.0 - y_pred)
        )
        return ops.mean(per_label, axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "positive_weights": self.positive_weights,
            "negative_weights": self.negative_weights,
        }


def balanced_label_weights(y):
    """sklearn's ``"balanced"`` weights, ``n / (2 * count)``, for each label's two values.

    A label that never takes one of its values gets weight 1 for it instead of
    a division by zero: there is nothing of that value to weigh.
    """
    y = np.asarray(y)
    n = y.shape[0]
    positives = y.sum(axis=0).astype(float)
    negatives = n - positives
    with np.errstate(divide="ignore"):
        positive_weights = np.where(positives > 0, n / (2 * positives), 1.0)
        negative_weights = np.where(negatives > 0, n / (2 * negatives), 1.0)
    return positive_weights, negative_weights
