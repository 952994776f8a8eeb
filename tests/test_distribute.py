"""Training under a ``tf.distribute`` strategy: fit inside ``strategy.scope()``.

CardioNetClassifier builds and compiles its network in ``fit``, so a fit called inside a
strategy's scope creates the variables of that strategy. The multi-replica case runs in a
subprocess, whose CPU is split into two logical devices before TensorFlow starts.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import load_sample

TINY = {
    "model__filters": (4,),
    "model__kernel_sizes": (3,),
    "model__dense_units": 8,
    "epochs": 2,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def sample():
    return load_sample(return_X_y=True)


@pytest.mark.parametrize(
    "make_strategy",
    [
        lambda: tf.distribute.OneDeviceStrategy("/cpu:0"),
        lambda: tf.distribute.MirroredStrategy(["/cpu:0"]),
    ],
    ids=["OneDeviceStrategy", "MirroredStrategy"],
)
def test_fit_inside_a_single_device_strategy_scope_equals_a_plain_fit(sample, make_strategy):
    X, y = sample
    strategy = make_strategy()
    with strategy.scope():
        clf = CardioNetClassifier(**TINY).fit(X, y)
    assert clf.model_.distribute_strategy is strategy
    plain = CardioNetClassifier(**TINY).fit(X, y)
    assert clf.history_ == plain.history_
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))


TWO_REPLICAS = """
import json, sys
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from cardionet_sk import CardioNetClassifier
from cardionet_sk.datasets import load_sample

X, y = load_sample(return_X_y=True)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    # 52 records: 10 validation records and batches of 32 split evenly over 2 replicas.
    clf = CardioNetClassifier(**json.loads(sys.argv[1])).fit(X, y)
kernel = clf.model_.get_layer("conv1").kernel
# Saved and loaded outside the scope: a single-device copy, which predicts single records.
reloaded = CardioNetClassifier.from_pretrained(clf.save_pretrained(sys.argv[2]))
copy = reloaded.model_.get_layer("conv1").kernel
json.dump({
    "replicas": strategy.num_replicas_in_sync,
    "kernel": type(kernel.value).__name__,
    "history": clf.history_,
    "proba_shape": clf.predict_proba(X[:3]).shape,
    "reloaded_kernel": type(copy.value).__name__,
    "same_kernel": bool(np.array_equal(kernel.numpy(), copy.numpy())),
    "reloaded_proba_shape": reloaded.predict_proba(X[:1]).shape,
}, sys.stdout)
"""


def test_mirrored_strategy_over_two_replicas_trains_mirrored_variables(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", TWO_REPLICAS, json.dumps(TINY), str(tmp_path / "model")],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["kernel"] == "MirroredVariable"
    assert sorted(report["history"]) == ["loss", "val_loss"]
    assert len(report["history"]["loss"]) == TINY["epochs"]
    assert np.isfinite(report["history"]["val_loss"]).all()
    assert report["proba_shape"] == [3, 5]
    assert report["reloaded_kernel"] != "MirroredVariable"
    assert report["same_kernel"]
    assert report["reloaded_proba_shape"] == [1, 5]
