"""Wrapper overhead: CardioNetClassifier against the same bare Keras model, same data, same run.

    python benchmarks/overhead.py [--records 4096] [--repeats 3]

Both sides train the published CNN for one epoch (batch 32, Adam, the same
binary cross-entropy) on the same random records and predict them. The
classifier runs with ``validation_split=0`` and ``standardize=False`` so both
do the same arithmetic, and ``class_weight=None`` for the same loss; what is
left is the wrapper's own cost: validation, parameter routing, the loss
object, aggregation. Timings alternate between the two sides and the median
of ``--repeats`` runs is reported; the first epoch of each side (graph
tracing) is run once beforehand and not timed.
"""

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np

from cardionet_sk import CardioNetClassifier
from cardionet_sk._architectures import build_network
from cardionet_sk._losses import WeightedBinaryCrossentropy

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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "overhead.json"
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.records, 1000, 12)).astype(np.float32)
    y = rng.integers(0, 2, size=(args.records, 5))
    clf = CardioNetClassifier(
        epochs=1, validation_split=0, standardize=False, class_weight=None, random_state=0
    )
    model = bare_keras(X, y, 0)
    # Untimed warm-up: graph tracing happens on the first fit and predict of each side.
    clf.fit(X[:64], y[:64])
    clf.predict_proba(X[:64])
    model.fit(X[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    model.predict(X[:64], batch_size=256, verbose=0)

    times = {"wrapper_fit": [], "keras_fit": [], "wrapper_predict": [], "keras_predict": []}
    for _ in range(args.repeats):
        times["keras_fit"].append(
            time_it(lambda: model.fit(X, y, batch_size=32, epochs=1, shuffle=True, verbose=0))
        )
        times["wrapper_fit"].append(time_it(lambda: clf.fit(X, y)))
        times["keras_predict"].append(time_it(lambda: model.predict(X, batch_size=256, verbose=0)))
        times["wrapper_predict"].append(time_it(lambda: clf.predict_proba(X)))
    median = {k: float(np.median(v)) for k, v in times.items()}
    result = {
        "records": args.records,
        "repeats": args.repeats,
        "median_seconds": median,
        "fit_ratio": median["wrapper_fit"] / median["keras_fit"],
        "predict_ratio": median["wrapper_predict"] / median["keras_predict"],
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
            f"the published CNN on {args.records} random records, median of {args.repeats} runs.",
            "",
            "| | CardioNetClassifier | bare Keras | ratio |",
            "|---|---|---|---|",
            f"| one epoch of fit | {median['wrapper_fit']:.2f} s | {median['keras_fit']:.2f} s | "
            f"{result['fit_ratio']:.3f} |",
            f"| predict_proba | {median['wrapper_predict']:.2f} s | "
            f"{median['keras_predict']:.2f} s | {result['predict_ratio']:.3f} |",
            "",
        ]
    )
    args.output.with_suffix(".md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
