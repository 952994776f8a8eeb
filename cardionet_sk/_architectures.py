"""Keras networks that :class:`CardioNetClassifier` can train, by name.

Each architecture is one builder function plus its default hyper-parameters.
The builders return uncompiled models; training choices live in the classifier.
"""

import keras
import numpy as np
from keras import layers


class _LayerSeeds:
    """Keyword arguments that seed each random layer from one integer, or leave it unseeded.

    Keras draws the seed of an unseeded initialiser or dropout layer from Python's global
    ``random`` generator, which other threads of the process (a Dask worker's event loop,
    for one) draw from as well: explicit seeds keep a seeded network the same wherever it
    is built.
    """

    def __init__(self, seed):
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _next(self):
        return None if self._rng is None else int(self._rng.integers(2**31 - 1))

    def kernel(self):
        return {"kernel_initializer": keras.initializers.GlorotUniform(seed=self._next())}

    def dropout(self):
        return {"seed": self._next()}


def build_cardionet(
    input_shape,
    n_outputs,
    *,
    filters=(32, 64, 128),
    kernel_sizes=(7, 5, 3),
    dense_units=256,
    dropout=0.5,
    seed=None,
):
    """The published CardioNet 1D-CNN.

    One block per entry of ``filters``: Conv1D (``same`` padding, ReLU) ->
    BatchNormalization -> MaxPooling1D(2); then Flatten -> Dense(``dense_units``,
    ReLU) -> Dropout(``dropout``) -> Dense(``n_outputs``, sigmoid). With the
    defaults and ``input_shape=(1000, 12)``, ``n_outputs=5`` it has exactly
    4,135,717 trainable and 4,136,165 parameters in all, as published.

    The pooling layers pad (``same``), which changes nothing for even lengths
    such as 1000 but lets records shorter than ``2 ** len(filters)`` samples
    through instead of collapsing to zero length. An integer ``seed`` fixes the
    initial weights and the dropout masks.
    """
    if len(filters) != len(kernel_sizes):
        raise ValueError(
            f"filters and kernel_sizes must have the same length; got {len(filters)} filters "
            f"and {len(kernel_sizes)} kernel sizes."
        )
    seeds = _LayerSeeds(seed)
    inputs = keras.Input(shape=input_shape, name="ecg")
    x = inputs
    for i, (n_filters, kernel_size) in enumerate(zip(filters, kernel_sizes), start=1):
        x = layers.Conv1D(
            n_filters,
            kernel_size,
            padding="same",
            activation="relu",
            name=f"conv{i}",
            **seeds.kernel(),
        )(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.MaxPooling1D(2, padding="same", name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense", **seeds.kernel())(x)
    x = layers.Dropout(dropout, name="dropout", **seeds.dropout())(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="probabilities", **seeds.kernel())(
        x
    )
    return keras.Model(inputs, outputs, name="cardionet")


def build_resnet1d_wang(
    input_shape,
    n_outputs,
    *,
    filters=(128, 128, 128),
    kernel_sizes=(5, 3),
    stem_kernel_size=7,
    dense_units=128,
    dropout=0.5,
    seed=None,
):
    """The 1D ResNet of the PTB-XL benchmark (``resnet1d_wang``, Strodthoff et al. 2020).

    A stem (Conv1D ``stem_kernel_size`` -> BN -> ReLU) and one residual basic
    block per entry of ``filters`` (two convolutions of ``kernel_sizes``, the
    blocks after the first with stride 2 and a 1x1 projection shortcut), then
    the benchmark's head: concatenated global average and max pooling -> BN ->
    Dropout(``dropout / 2``) -> Dense(``dense_units``, ReLU) -> BN ->
    Dropout(``dropout``) -> Dense(``n_outputs``, sigmoid). Fully convolutional
    with global pooling, so it takes records of any length:
    ``input_shape[0]`` may be ``None``. An integer ``seed`` fixes the initial
    weights and the dropout masks.
    """
    seeds = _LayerSeeds(seed)
    inputs = keras.Input(shape=(None, input_shape[-1]), name="ecg")
    x = layers.Conv1D(
        filters[0],
        stem_kernel_size,
        padding="same",
        use_bias=False,
        name="stem_conv",
        **seeds.kernel(),
    )(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, n_filters in enumerate(filters, start=1):
        stride = 1 if i == 1 else 2
        shortcut = x
        for j, kernel_size in enumerate(kernel_sizes, start=1):
            x = layers.Conv1D(
                n_filters,
                kernel_size,
                strides=stride if j == 1 else 1,
                padding="same",
                use_bias=False,
                name=f"block{i}_conv{j}",
                **seeds.kernel(),
            )(x)
            x = layers.BatchNormalization(name=f"block{i}_bn{j}")(x)
            if j < len(kernel_sizes):
                x = layers.ReLU(name=f"block{i}_relu{j}")(x)
        if stride != 1 or shortcut.shape[-1] != n_filters:
            shortcut = layers.Conv1D(
                n_filters,
                1,
                strides=stride,
                use_bias=False,
                name=f"block{i}_shortcut",
                **seeds.kernel(),
            )(shortcut)
            shortcut = layers.BatchNormalization(name=f"block{i}_shortcut_bn")(shortcut)
        x = layers.Add(name=f"block{i}_add")([x, shortcut])
        x = layers.ReLU(name=f"block{i}_out")(x)
    x = layers.Concatenate(name="pool")(
        [
            layers.GlobalAveragePooling1D(name="avg_pool")(x),
            layers.GlobalMaxPooling1D(name="max_pool")(x),
        ]
    )
    x = layers.BatchNormalization(name="head_bn1")(x)
    x = layers.Dropout(dropout / 2, name="head_dropout1", **seeds.dropout())(x)
    x = layers.Dense(dense_units, activation="relu", name="dense", **seeds.kernel())(x)
    x = layers.BatchNormalization(name="head_bn2")(x)
    x = layers.Dropout(dropout, name="dropout", **seeds.dropout())(x)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name="probabilities", **seeds.kernel())(
        x
    )
    return keras.Model(inputs, outputs, name="resnet1d_wang")


#: name -> (builder, default hyper-parameters). The defaults double as the list
#: of hyper-parameters an architecture understands.
ARCHITECTURES = {
    "cardionet": (
        build_cardionet,
        {"filters": (32, 64, 128), "kernel_sizes": (7, 5, 3), "dense_units": 256, "dropout": 0.5},
    ),
    "resnet1d_wang": (
        build_resnet1d_wang,
        {
            "filters": (128, 128, 128),
            "kernel_sizes": (5, 3),
            "stem_kernel_size": 7,
            "dense_units": 128,
            "dropout": 0.5,
        },
    ),
}


def build_network(architecture, input_shape, n_outputs, *, seed=None, **hyperparameters):
    """Build the named architecture; ``None`` hyper-parameters take its defaults.

    An integer ``seed`` fixes the initial weights and dropout masks.

    Raises
    ------
    ValueError
        For an unknown architecture or a hyper-parameter it does not take.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}."
        )
    builder, defaults = ARCHITECTURES[architecture]
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(
            f"Architecture {architecture!r} does not take {sorted(unknown)}; "
            f"its hyper-parameters are {sorted(defaults)}."
        )
    return builder(input_shape, n_outputs, seed=seed, **{**defaults, **given})
