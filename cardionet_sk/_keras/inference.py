"""Prediction with a network: one traced function per network, whatever the batch size.

``keras.Model.predict`` builds its data pipeline on every call and traces its
function again for every new input shape, a last partial batch included:
scoring many small batches (a grid search, a stream of records) recompiles
over and over. Here each network gets one :func:`tf.function` whose input
signature leaves the batch axis (and, for fully convolutional networks, the
time axis) open, traced once and reused by every later call. It standardises
the raw records itself, inside the compiled graph, where XLA fuses the
per-lead scaling into the first convolution instead of NumPy making a scaled
copy of every record.
"""

import functools
import weakref

import numpy as np
import tensorflow as tf

# Keyed weakly by network, so that a refitted or deleted classifier's function goes with its
# network, and nothing unpicklable is stored on the classifier.
_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _forward(model_ref, x, mean, scale):
    return model_ref()((x - mean) / scale, training=False)


def _function(model):
    function = _FUNCTIONS.get(model)
    if function is None:
        n_leads = model.input_shape[-1]
        spec = [
            tf.TensorSpec((None, *model.input_shape[1:]), tf.float32),
            tf.TensorSpec((n_leads,), tf.float32),
            tf.TensorSpec((n_leads,), tf.float32),
        ]
        # XLA fuses the convolutions, normalisations and activations of a batch: about 1.5x
        # faster on CPUs. It compiles once per concrete shape, which padding bounds.
        # A partial, not a closure: TensorFlow counts traces per code object, and would take
        # the one trace of each new network (every fold of a grid search) for retracing. It
        # refers to the network weakly: a strong reference from the dictionary's value would
        # keep its key, the network, alive for ever.
        function = tf.function(
            functools.partial(_forward, weakref.ref(model)),
            input_signature=spec,
            jit_compile=True,
        )
        _FUNCTIONS[model] = function
    return function


def predict_batches(model, X, batch_size, mean, scale):
    """Outputs of ``model`` on ``(X - mean) / scale``, ``batch_size`` rows per call.

    One traced function does it all. A short batch is zero-padded to the next
    power of two, so that the compiled shapes stay few (at most
    ``log2(batch_size) + 1`` per record length) whatever the number of records
    per call.
    """
    function = _function(model)
    mean, scale = (np.asarray(v, dtype=np.float32) for v in (mean, scale))
    outputs = []
    for start in range(0, len(X), batch_size):
        batch = np.asarray(X[start : start + batch_size], dtype=np.float32)
        padded = min(batch_size, 1 << (len(batch) - 1).bit_length())
        if padded != len(batch):
            batch = np.concatenate(
                [batch, np.zeros((padded - len(batch), *batch.shape[1:]), batch.dtype)]
            )
        outputs.append(function(batch, mean, scale).numpy()[: min(batch_size, len(X) - start)])
    return np.concatenate(outputs)


def tracing_count(model):
    """How many times the prediction function of ``model`` was traced (compiled); 0 if never."""
    function = _FUNCTIONS.get(model)
    return 0 if function is None else function.experimental_get_tracing_count()
