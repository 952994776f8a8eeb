"""Training mini-batches drawn from records or windows without materialising them all."""

import keras
import numpy as np

from .._statistics import standardize
from .._windowing import random_crops, random_shifts


class TrainingBatches(keras.utils.PyDataset):
    """Shuffled mini-batches of windows, cropped and shifted at random, standardised.

    ``X`` may be a strided view of overlapping windows: only the windows of the
    current batch are copied, so training on every window of a large set costs
    the memory of one batch, not of all windows.

    Parameters
    ----------
    X : ndarray of shape (n_records, n_windows, n_timesteps, n_leads)
        Records (``n_windows=1``) or windows of them.
    y : ndarray of shape (n_records, n_classes)
        Labels, shared by the windows of a record.
    sample_weight : ndarray of shape (n_records,) or None
        Weights, shared by the windows of a record.
    records : ndarray of int
        The records of ``X`` to draw from (the training side of a split).
    batch_size : int
    mean, scale : ndarray of shape (n_leads,)
        Standardisation applied to every batch.
    seed : int
        Seeds shuffling, crops and shifts: epoch ``e`` draws from
        ``(seed, e)``, so the batches do not depend on thread scheduling.
    shuffle : bool
        Draw the windows in a new random order every epoch.
    crop_size : int or None
        Train on one random crop of this many timesteps of every window.
    max_shift : int
        Roll every window circularly by a random number of timesteps in
        ``[-max_shift, max_shift]``. An ECG is quasi-periodic, so a rolled
        record is still a plausible record, while the network can no longer
        tie a feature to one absolute position.
    """

    def __init__(
        self,
        X,
        y,
        sample_weight,
        records,
        *,
        batch_size,
        mean,
        scale,
        seed,
        shuffle=True,
        crop_size=None,
        max_shift=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.X, self.y, self.sample_weight = X, y, sample_weight
        n_windows = X.shape[1]
        self.pairs = np.stack(
            np.meshgrid(records, np.arange(n_windows), indexing="ij"), axis=-1
        ).reshape(-1, 2)
        self.batch_size = batch_size
        self.mean, self.scale = mean, scale
        self.seed, self.shuffle = seed, shuffle
        self.crop_size, self.max_shift = crop_size, max_shift
        self.epoch = 0
        self.order = self._order()

    def _order(self):
        if not self.shuffle:
            return np.arange(len(self.pairs))
        return np.random.default_rng((self.seed, self.epoch)).permutation(len(self.pairs))

    def __len__(self):
        return -(-len(self.pairs) // self.batch_size)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()

    def __getitem__(self, index):
        chosen = self.pairs[self.order[index * self.batch_size : (index + 1) * self.batch_size]]
        records, windows = chosen[:, 0], chosen[:, 1]
        batch = self.X[records, windows]
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if self.crop_size is not None:
            batch = random_crops(batch, self.crop_size, rng)
        if self.max_shift:
            batch = random_shifts(batch, self.max_shift, rng)
        batch = standardize(batch, self.mean, self.scale)
        targets = self.y[records].astype(np.float32)
        if self.sample_weight is None:
            return batch, targets
        return batch, targets, self.sample_weight[records]
