"""Wrapper overhead: CardioNetClassifier against the same bare Keras model, same data, same run.

    python benchmarks/overhead.py [--records 4096] [--repeats 7]

Both sides train the published CNN for one epoch (batch 32, Adam, the same
binary cross-entropy) on the same random records and predict them. The
classifier runs with ``validation_split=0`` and ``standardize=False`` so both
do the same arithmetic, ``class_weight=None`` for the same loss, and
``signal_checks=False``; what is left is the wrapper's own cost: validation,
parameter routing, the loss object, aggregation. The signal checks, work the
bare model does not do at all, are timed on their own (``check_signal_quality``
on the same records): the cost of ``signal_checks=True``, the default, on every
``fit`` and ``predict_proba``. Three comparisons:

- fit from scratch: ``clf.fit`` builds, compiles and traces a new network,
  as scikit-learn's ``fit`` must; the bare side does the same
  (``build_network``, ``compile``, ``fit``);
- one more epoch: ``warm_start=True`` against ``fit`` on the same Keras
  model, where neither builds nor traces anything;
- ``predict_proba`` against ``model.predict``.

Timings alternate between the two sides, ``--repeats`` times. The table shows
the fastest run of each side, the usual estimate of a cost on a shared
machine (other load only ever adds time; here identical epochs took either
about 6 or about 11 s), and the ratio of the medians next to it; every run
is in ``overhead.json``. A first fit and predict of
each side (graph tracing of the reused models) runs beforehand, untimed.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.base import clone

from cardionet_sk import CardioNetClassifier, check_signal_quality
from cardionet_sk._keras.architectures import build_network
from cardionet_sk._keras.losses import WeightedBinaryCrossentropy

from _common import machine


def bare_keras(X, y, seed):
    keras.utils.set_random_seed(seed)
    model = build_network("cardionet", X.shape[1:], y.shape[1])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=WeightedBinaryCrossentropy(np.ones(5), np.ones(5)),
    )
    return model


def time_it(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "overhead.json"
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.records, 1000, 12)).astype(np.float32)
    y = rng.integers(0, 2, size=(args.records, 5))
    clf = CardioNetClassifier(
        epochs=1,
        validation_split=0,
        standardize=False,
        class_weight=None,
        signal_checks=False,
        random_state=0,
    )
    model = bare_keras(X, y, 0)
    # Untimed warm-up: graph tracing happens on the first fit and predict of each side.
    clf.fit(X[:64], y[:64])
    clf.predict_proba(X[:64])
    model.fit(X[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    model.predict(X[:64], batch_size=256, verbose=0)

    warm = clone(clf).set_params(warm_start=True).fit(X[:64], y[:64])
    warm.predict_proba(X[:64])

    def fit_bare_from_scratch():
        bare_keras(X, y, 0).fit(X, y, batch_size=32, epochs=1, shuffle=True, verbose=0)

    sides = {
        "fit from scratch": (lambda: clf.fit(X, y), fit_bare_from_scratch),
        "one more epoch": (
            lambda: warm.fit(X, y),
            lambda: model.fit(X, y, batch_size=32, epochs=1, shuffle=True, verbose=0),
        ),
        "predict_proba": (
            lambda: clf.predict_proba(X),
            lambda: model.predict(X, batch_size=256, verbose=0),
        ),
    }
    times = {name: {"wrapper": [], "keras": []} for name in sides}
    checks = []
    for _ in range(args.repeats):
        for name, (wrapper, keras_side) in sides.items():
            times[name]["keras"].append(time_it(keras_side))
            times[name]["wrapper"].append(time_it(wrapper))
        checks.append(time_it(lambda: check_signal_quality(X, clf.sampling_rate)))
    fastest, median = (
        {
            name: {side: float(statistic(runs)) for side, runs in pair.items()}
            for name, pair in times.items()
        }
        for statistic in (np.min, np.median)
    )
    result = {
        "records": args.records,
        "repeats": args.repeats,
        "seconds": times,
        "fastest_seconds": fastest,
        "median_seconds": median,
        "ratio": {name: m["wrapper"] / m["keras"] for name, m in fastest.items()},
        "median_ratio": {name: m["wrapper"] / m["keras"] for name, m in median.items()},
        "signal_checks_seconds": checks,
        "machine": machine(),
        "keras": keras.__version__,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    table = "\n".join(
        [
            "# Wrapper overhead",
            "",
            f"`python benchmarks/overhead.py` on {result['machine']}, Keras {keras.__version__}: "
            f"the published CNN on {args.records} random records; fastest of {args.repeats} "
            "alternating runs of each side, and the ratio of their medians.",
            "",
            "| | CardioNetClassifier | bare Keras | ratio | ratio of medians |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {m['wrapper']:.2f} s | {m['keras']:.2f} s | "
                f"**{result['ratio'][name]:.3f}** | {result['median_ratio'][name]:.3f} |"
                for name, m in fastest.items()
            ),
            "",
            f"Signal checks (`signal_checks=True`, the default), on top: {min(checks):.2f} s "
            f"for the {args.records} records ({1e3 * min(checks) / args.records:.2f} ms per "
            "record), once per `fit` and per `predict_proba`.",
            "",
        ]
    )
    args.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
