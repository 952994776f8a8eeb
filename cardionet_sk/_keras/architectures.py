"""Keras networks that :class:`~cardionet_sk.CardioNetClassifier` can train, by name.

Each architecture is one function that builds the network *body*, from the
input to the last hidden features; its keyword defaults are the
architecture's hyper-parameters, declared only there. :func:`build_network`
adds the output layer every architecture shares, and the classifier compiles.
"""

import inspect
from typing import NamedTuple

import keras
import numpy as np
from keras import layers

from .._constants import HEAD_LAYER


class LayerSeeds:
    """Keyword arguments that seed each random layer from one integer, or leave it unseeded.

    Keras draws the seed of an unseeded initialiser or dropout layer from Python's global
    ``random`` generator, which other threads of the process (a Dask worker's event loop,
    another fit) draw from as well: explicit seeds keep a seeded network the same wherever
    and whenever it is built, without touching any global random state.
    """

    def __init__(self, seed):
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _next(self):
        return None if self._rng is None else int(self._rng.integers(2**31 - 1))

    def kernel(self):
        return {"kernel_initializer": keras.initializers.GlorotUniform(seed=self._next())}

    def dropout(self):
        return {"seed": self._next()}


def cardionet_body(
    inputs, seeds, *, filters=(32, 64, 128), kernel_sizes=(7, 5, 3), dense_units=256, dropout=0.5
):
    """The published CardioNet 1D-CNN, up to its output layer.

    One block per entry of ``filters``: Conv1D (``same`` padding, ReLU) ->
    BatchNormalization -> MaxPooling1D(2); then Flatten -> Dense(``dense_units``,
    ReLU) -> Dropout(``dropout``). With the defaults, 10 s records at 100 Hz
    (``(1000, 12)``) and five outputs the network has exactly 4,135,717
    trainable and 4,136,165 parameters in all, as published.

    The pooling layers pad (``same``), which changes nothing for even lengths
    such as 1000 but lets records shorter than ``2 ** len(filters)`` samples
    through instead of collapsing to zero length. The flattened feature map
    fixes the input length.
    """
    if len(filters) != len(kernel_sizes):
        raise ValueError(
            f"filters and kernel_sizes must have the same length; got {len(filters)} filters "
            f"and {len(kernel_sizes)} kernel sizes."
        )
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
    return layers.Dropout(dropout, name="dropout", **seeds.dropout())(x)


def resnet1d_wang_body(
    inputs,
    seeds,
    *,
    filters=(128, 128, 128),
    kernel_sizes=(5, 3),
    stem_kernel_size=7,
    dense_units=128,
    dropout=0.5,
):
    """The 1D ResNet of the PTB-XL benchmark (``resnet1d_wang``), up to its output layer.

    A stem (Conv1D ``stem_kernel_size`` -> BN -> ReLU) and one residual basic
    block per entry of ``filters`` (two convolutions of ``kernel_sizes``, the
    blocks after the first with stride 2 and a 1x1 projection shortcut), then
    the benchmark's head: concatenated global average and max pooling -> BN ->
    Dropout(``dropout / 2``) -> Dense(``dense_units``, ReLU) -> BN ->
    Dropout(``dropout``). Fully convolutional with global pooling, so it takes
    records of any length. With the defaults and five outputs it has 473,349
    trainable parameters.
    """
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
    return _benchmark_head(x, seeds, dense_units, dropout)


def _benchmark_head(x, seeds, dense_units, dropout):
    """The head of the benchmark's fully convolutional networks, up to the output layer.

    Concatenated global average and max pooling -> BN -> Dropout(``dropout / 2``)
    -> Dense(``dense_units``, ReLU) -> BN -> Dropout(``dropout``): fastai's
    ``create_head1d`` with ``lin_ftrs=[dense_units]``.
    """
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
    return layers.Dropout(dropout, name="dropout", **seeds.dropout())(x)


def _conv_bn(x, seeds, filters, kernel_size, name, *, strides=1, relu=True, zero_gamma=False):
    """Conv1D (no bias) -> BN (-> ReLU): fastai's ``ConvLayer`` with batch norm first."""
    x = layers.Conv1D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=False,
        name=f"{name}_conv",
        **seeds.kernel(),
    )(x)
    x = layers.BatchNormalization(
        gamma_initializer="zeros" if zero_gamma else "ones", name=f"{name}_bn"
    )(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def inception1d_body(
    inputs,
    seeds,
    *,
    depth=6,
    branch_filters=32,
    bottleneck=32,
    kernel_sizes=(39, 19, 9),
    dense_units=128,
    dropout=0.5,
):
    """The InceptionTime-like network of the PTB-XL benchmark (``inception1d``), up to its output.

    ``depth`` inception blocks (a 1x1 bottleneck of ``bottleneck`` channels
    feeding one convolution of ``branch_filters`` channels per entry of
    ``kernel_sizes``, beside a max-pooled 1x1 convolution of the block's input;
    concatenated -> BN -> ReLU), a residual 1x1 shortcut around every three,
    then the benchmark's head. Fully convolutional: any record length. With the
    defaults (the benchmark's ``kernel_size=40``: kernels 39, 19 and 9), 12
    leads and five outputs it has 507,653 trainable parameters, as the
    benchmark's PyTorch network.
    """
    if depth % 3:
        raise ValueError(f"inception1d needs a depth divisible by 3; got depth={depth}.")
    width = branch_filters * (len(kernel_sizes) + 1)
    x = residual = inputs
    for d in range(1, depth + 1):
        name = f"inception{d}"
        bottled = x
        if bottleneck:
            bottled = layers.Conv1D(
                bottleneck, 1, use_bias=False, name=f"{name}_bottleneck", **seeds.kernel()
            )(x)
        branches = [
            layers.Conv1D(
                branch_filters,
                kernel_size,
                padding="same",
                use_bias=False,
                name=f"{name}_conv{kernel_size}",
                **seeds.kernel(),
            )(bottled)
            for kernel_size in kernel_sizes
        ]
        pooled = layers.MaxPooling1D(3, strides=1, padding="same", name=f"{name}_pool")(x)
        branches.append(
            layers.Conv1D(
                branch_filters, 1, use_bias=False, name=f"{name}_pool_conv", **seeds.kernel()
            )(pooled)
        )
        x = layers.Concatenate(name=f"{name}_concat")(branches)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
        if d % 3 == 0:
            shortcut = _conv_bn(residual, seeds, width, 1, f"shortcut{d // 3}", relu=False)
            x = layers.ReLU(name=f"residual{d // 3}")(layers.Add()([x, shortcut]))
            residual = x
    return _benchmark_head(x, seeds, dense_units, dropout)


#: xresnet1d depth -> (block expansion, residual blocks per stage), as in fastai's xresnet.
XRESNET_DEPTHS = {
    18: (1, (2, 2, 2, 2)),
    34: (1, (3, 4, 6, 3)),
    50: (4, (3, 4, 6, 3)),
    101: (4, (3, 4, 23, 3)),
    152: (4, (3, 8, 36, 3)),
}


def xresnet1d_body(
    inputs,
    seeds,
    *,
    depth=101,
    kernel_size=5,
    stem_kernel_size=5,
    stem_filters=(32, 32, 64),
    block_filters=64,
    dense_units=128,
    dropout=0.5,
):
    """The xresnet1d of the PTB-XL benchmark (fastai's XResNet in 1-D), up to its output.

    A stem of three convolutions (the first with stride 2) and a stride-2 max
    pooling, then four stages of residual blocks (``XRESNET_DEPTHS[depth]``;
    bottleneck blocks of expansion 4 from depth 50), the stages after the first
    starting with stride 2, shortcuts average-pooled and projected where the
    shape changes, each block's last batch norm starting at zero; then the
    benchmark's head. Fully convolutional: any record length. With the defaults
    (``xresnet1d101``, the benchmark's ``kernel_size=5``), 12 leads and five
    outputs it has 1,872,261 trainable parameters, as the benchmark's PyTorch
    network.
    """
    if depth not in XRESNET_DEPTHS:
        raise ValueError(f"xresnet1d takes depth in {sorted(XRESNET_DEPTHS)}; got depth={depth}.")
    expansion, blocks = XRESNET_DEPTHS[depth]
    x = inputs
    for i, n_filters in enumerate(stem_filters, start=1):
        x = _conv_bn(x, seeds, n_filters, stem_kernel_size, f"stem{i}", strides=2 if i == 1 else 1)
    x = layers.MaxPooling1D(3, strides=2, padding="same", name="stem_pool")(x)
    width = block_filters * expansion
    for stage, n_blocks in enumerate(blocks, start=1):
        for b in range(1, n_blocks + 1):
            name, stride = f"stage{stage}_block{b}", 2 if stage > 1 and b == 1 else 1
            shortcut = x
            if expansion == 1:
                x = _conv_bn(x, seeds, block_filters, kernel_size, f"{name}_a", strides=stride)
            else:
                x = _conv_bn(x, seeds, block_filters, 1, f"{name}_a")
                x = _conv_bn(x, seeds, block_filters, kernel_size, f"{name}_b", strides=stride)
            x = _conv_bn(
                x,
                seeds,
                width,
                1 if expansion > 1 else kernel_size,
                f"{name}_c",
                relu=False,
                zero_gamma=True,
            )
            if stride != 1:
                shortcut = layers.AveragePooling1D(2, padding="same", name=f"{name}_shortcut_pool")(
                    shortcut
                )
            if shortcut.shape[-1] != width:
                shortcut = _conv_bn(shortcut, seeds, width, 1, f"{name}_shortcut", relu=False)
            x = layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, shortcut]))
    return _benchmark_head(x, seeds, dense_units, dropout)


class Architecture(NamedTuple):
    """A network body builder, its hyper-parameter defaults and whether it takes any length."""

    body: object
    defaults: dict
    fixed_length: bool


def _architecture(body, *, fixed_length):
    signature = inspect.signature(body).parameters.values()
    defaults = {p.name: p.default for p in signature if p.kind is p.KEYWORD_ONLY}
    return Architecture(body, defaults, fixed_length)


#: name -> Architecture. The defaults come from the body's signature and double as the list
#: of hyper-parameters an architecture understands.
ARCHITECTURES = {
    "cardionet": _architecture(cardionet_body, fixed_length=True),
    "resnet1d_wang": _architecture(resnet1d_wang_body, fixed_length=False),
    "inception1d": _architecture(inception1d_body, fixed_length=False),
    "xresnet1d": _architecture(xresnet1d_body, fixed_length=False),
}


def check_hyperparameters(architecture, hyperparameters):
    """Every hyper-parameter of ``architecture``: ``None`` and missing ones take its defaults.

    Raises
    ------
    ValueError
        For an unknown architecture or a hyper-parameter it does not take.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {architecture!r}; choose one of {sorted(ARCHITECTURES)}."
        )
    defaults = ARCHITECTURES[architecture].defaults
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(
            f"Architecture {architecture!r} does not take {sorted(unknown)}; "
            f"its hyper-parameters are {sorted(defaults)}."
        )
    return {**defaults, **given}


def build_network(architecture, input_shape, n_outputs, *, seed=None, **hyperparameters):
    """The named architecture's body under one sigmoid output per label, uncompiled.

    ``input_shape`` is ``(n_timesteps, n_leads)``; an architecture that takes
    any length ignores ``n_timesteps``. An integer ``seed`` fixes the initial
    weights and dropout masks; ``None`` hyper-parameters take the defaults.
    """
    hyperparameters = check_hyperparameters(architecture, hyperparameters)
    fixed_length = ARCHITECTURES[architecture].fixed_length
    seeds = LayerSeeds(seed)
    inputs = keras.Input(
        shape=(input_shape[0] if fixed_length else None, input_shape[-1]), name="ecg"
    )
    features = ARCHITECTURES[architecture].body(inputs, seeds, **hyperparameters)
    outputs = layers.Dense(n_outputs, activation="sigmoid", name=HEAD_LAYER, **seeds.kernel())(
        features
    )
    return keras.Model(inputs, outputs, name=architecture)


def describe_defaults():
    """The defaults of every architecture as numpydoc text, for the classifier's docstring.

    The first line takes the indentation of the placeholder it replaces.
    """
    return "\n        ".join(
        f"- ``{name!r}``: " + ", ".join(f"``{k}={v!r}``" for k, v in architecture.defaults.items())
        for name, architecture in ARCHITECTURES.items()
    )
