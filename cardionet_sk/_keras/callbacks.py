"""Keras callbacks behind CardioNetClassifier's training options."""

import math
import time

import keras
import numpy as np
from sklearn.metrics import roc_auc_score


class ValidationMacroAUC(keras.callbacks.Callback):
    """Write the macro ROC AUC of the validation records into the epoch logs.

    It is computed on whole records, as :meth:`CardioNetClassifier.predict_proba`
    sees them, over the classes that have both values in the validation set;
    early stopping can then monitor ``val_macro_auc``.

    Parameters
    ----------
    predict_proba : callable
        Records -> (n_records, n_classes) probabilities with the current weights.
    X, y : ndarray
        Validation records and their label indicator matrix.
    """

    def __init__(self, predict_proba, X, y):
        super().__init__()
        self.predict_proba, self.X, self.y = predict_proba, X, y
        self.scored = [k for k in range(y.shape[1]) if 0 < y[:, k].sum() < len(y)]

    def on_epoch_end(self, epoch, logs=None):
        proba = self.predict_proba(self.X)
        logs["val_macro_auc"] = float(
            np.mean([roc_auc_score(self.y[:, k], proba[:, k]) for k in self.scored])
        )


class TimeBudget(keras.callbacks.Callback):
    """Stop training after the first epoch that ends past ``seconds`` of training."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def learning_rate_schedule(kind, learning_rate, epochs):
    """Per-epoch learning rate for ``kind``: ``"cosine"`` or ``"one_cycle"``.

    ``"cosine"`` decays from ``learning_rate`` to zero over ``epochs``;
    ``"one_cycle"`` (Smith 2018, as in the PTB-XL benchmark) rises linearly
    from ``learning_rate / 25`` to ``learning_rate`` over the first 30 % of the
    epochs and then follows a cosine down to ``learning_rate / 1e4``.
    """

    def cosine(progress, high, low):
        return low + (high - low) * (1 + math.cos(math.pi * min(progress, 1.0))) / 2

    def schedule(epoch, current=None):
        if kind == "cosine":
            return cosine(epoch / epochs, learning_rate, 0.0)
        warmup = max(1, round(0.3 * epochs))
        if epoch < warmup:
            return learning_rate / 25 + (learning_rate - learning_rate / 25) * epoch / warmup
        return cosine(
            (epoch - warmup) / max(1, epochs - warmup), learning_rate, learning_rate / 1e4
        )

    return schedule
