"""Compiling and training a classifier's Keras network: optimizer, split, loop, history."""

from functools import partial

import keras
import numpy as np

from .._constants import HEAD_LAYER
from .architectures import build_network
from .batches import TrainingBatches
from .callbacks import TimeBudget, ValidationMacroAUC, learning_rate_schedule
from .losses import WeightedBinaryCrossentropy


def make_optimizer(optimizer, learning_rate, params):
    """A new optimizer from a name, an optimizer class or a (template) instance.

    ``params`` are the routed ``optimizer__`` keyword arguments. An instance is
    copied through its config, so that clones never share optimizer state.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        config = {**optimizer.get_config(), "learning_rate": learning_rate, **params}
        return type(optimizer).from_config(config)
    if isinstance(optimizer, str):
        optimizer = type(keras.optimizers.get(optimizer))
    return optimizer(learning_rate=learning_rate, **params)


def compile_network(model, estimator):
    """Compile ``model`` with a new optimizer of ``estimator`` and its per-label weighted loss.

    The optimizer (name, class or template instance), its learning rate and its
    routed ``optimizer__`` settings are the estimator's parameters.
    """
    optimizer = make_optimizer(
        estimator.optimizer, estimator.learning_rate, estimator._routed("optimizer")
    )
    model.compile(optimizer=optimizer, loss=WeightedBinaryCrossentropy(*estimator.label_weights_))
    return model


def build_compiled_network(estimator, seed):
    """The compiled network of a classifier's ``hyperparameters_``, input and classes.

    An integer ``seed`` fixes its initial weights and dropout masks.
    """
    model = build_network(
        estimator.architecture,
        (estimator.crop_size or estimator.n_features_in_, estimator.n_leads_in_),
        estimator.n_classes_,
        seed=seed,
        **estimator.hyperparameters_,
    )
    return compile_network(model, estimator)


def transfer_body_weights(source, target):
    """Copy every layer's weights from ``source`` to ``target`` by name, except the head.

    Both networks are built from the same architecture and hyper-parameters,
    so the body layers have the same names and shapes; the head differs in its
    number of outputs and keeps its fresh initialisation.
    """
    for layer in target.layers:
        if layer.weights and layer.name != HEAD_LAYER:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def set_body_trainable(estimator, trainable):
    """Freeze or unfreeze every layer but the head, and compile anew.

    Keras reads ``trainable`` when it compiles, so the change needs a new
    compile (and with it a fresh optimizer state).
    """
    for layer in estimator.model_.layers:
        if layer.name != HEAD_LAYER:
            layer.trainable = trainable
    compile_network(estimator.model_, estimator)


def split_records(n_records, validation_split, rng, groups=None):
    """Random train and validation record indices; no validation when a side would be empty.

    With ``groups``, whole groups in random order go to validation until it
    holds at least ``validation_split`` of the records.
    """
    n_val = int(round(validation_split * n_records))
    no_validation = np.arange(n_records), np.array([], dtype=int)
    if n_val == 0 or n_val == n_records:
        return no_validation
    if groups is None:
        order = rng.permutation(n_records)
    else:
        _, group_of_record = np.unique(groups, return_inverse=True)
        rank_of_group = rng.permutation(group_of_record.max() + 1)
        rank = rank_of_group[group_of_record]
        # Records sorted by the random rank of their group, so that each group's records
        # are contiguous; the cut then moves to the end of the group it falls in.
        order = np.argsort(rank, kind="stable")
        n_val = int(np.searchsorted(rank[order], rank[order[n_val - 1]], side="right"))
        if n_val == n_records:
            return no_validation
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def training_callbacks(
    *,
    user_callbacks,
    lr_schedule,
    learning_rate,
    epochs,
    validation,
    monitor,
    patience,
    max_time,
    ema=False,
):
    """Callbacks of one fit: the user's, then the schedule, validation and time budget.

    ``validation`` is ``None`` or ``(predict_proba, X_val, y_val)``; with it,
    early stopping restores the best epoch's weights. With ``ema`` (an optimizer
    with ``use_ema=True``), those are the moving averages of the weights.
    """
    callbacks = list(user_callbacks or [])
    if lr_schedule is not None:
        callbacks.append(
            keras.callbacks.LearningRateScheduler(
                learning_rate_schedule(lr_schedule, learning_rate, epochs)
            )
        )
    if validation is not None:
        if ema:
            # The averaged weights are the model being chosen: they go into the network
            # before each epoch's validation (and so into early stopping's best weights),
            # and out again before the next epoch trains. The user's callbacks, first,
            # still see the raw weights, which with the optimizer's state make a checkpoint.
            callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        if monitor == "val_macro_auc":
            callbacks.append(ValidationMacroAUC(*validation))
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode="min" if monitor == "val_loss" else "max",
                patience=patience,
                restore_best_weights=True,
            )
        )
    if max_time is not None:
        callbacks.append(TimeBudget(max_time))
    return callbacks


def train_network(
    estimator, X, y, sample_weight, *, train, validation, seed, epochs, initial_epoch
):
    """Run ``keras.Model.fit`` of ``estimator.model_`` on the ``train`` records; return its history.

    The training options (batch size, crops, shifts, schedule, early stopping,
    time budget, routed ``fit__`` arguments) are read from the estimator's
    parameters and its standardisation from its fitted ``mean_``/``scale_``.
    The ``validation`` records keep their order and are neither cropped at
    random nor shifted. Every batch is drawn from a generator seeded per
    epoch, so a seeded fit depends on no global random state.
    """
    batches = {
        "batch_size": estimator.batch_size,
        "mean": estimator.mean_,
        "scale": estimator.scale_,
        "seed": seed or 0,
        "crop_size": estimator.crop_size,
        "max_shift": estimator.max_shift,
    }
    fit_kwargs = estimator._routed("fit")
    # fit__callbacks join the training's own, and fit__verbose is Keras' (silent by default);
    # until 0.6 also the constructor's callbacks and verbose of before.
    user_callbacks = fit_kwargs.pop("callbacks", None) or getattr(estimator, "callbacks", None)
    verbose = fit_kwargs.pop("verbose", getattr(estimator, "verbose", 0))
    if len(validation):
        fit_kwargs["validation_data"] = TrainingBatches(
            X, y, sample_weight, validation, **{**batches, "shuffle": False, "max_shift": 0}
        )
    callbacks = training_callbacks(
        user_callbacks=user_callbacks,
        lr_schedule=estimator.lr_schedule,
        learning_rate=estimator.learning_rate,
        epochs=estimator.epochs,
        # The fit checked every record's signal once already; not again at every epoch.
        validation=(
            partial(estimator._predict_proba, check_signals=False),
            X[validation],
            y[validation],
        )
        if len(validation)
        else None,
        monitor=estimator.monitor,
        patience=estimator.patience,
        max_time=estimator.max_time,
        ema=getattr(estimator.model_.optimizer, "use_ema", False),
    )
    history = estimator.model_.fit(
        TrainingBatches(X, y, sample_weight, train, **batches),
        # The batches shuffle themselves from their seed; Keras would shuffle their order
        # again with Python's global random generator, which other threads share.
        shuffle=False,
        callbacks=callbacks,
        verbose=verbose,
        initial_epoch=initial_epoch,
        epochs=initial_epoch + epochs,
        **fit_kwargs,
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
