"""Throughput of predict_proba_dask: ECGs per second with 1 and 2 Dask worker processes.

    python benchmarks/distributed_predict.py [--data-home DIR] [--records 2000]
                                            [--workers 1 2] [--chunk 250] [--repeats 3]

The records are the first ``--records`` of PTB-XL fold 9 at 100 Hz (``--data-home``, read
with ``fetch_ptbxl``), or, without a data home, the 52 bundled sample records repeated.
For each number of workers, a :class:`distributed.LocalCluster` of that many worker
processes, one thread each, is started; the records are persisted on its workers in
blocks of ``--chunk`` records, so that the timings are those of scoring, not of sending
the signals from this process. Then, for each embedded model:

- the first ``predict_proba_dask(...).compute()``, in which each worker also loads the
  model (and, the first time, imports TensorFlow);
- ``--repeats`` more computations, with the model already loaded on every worker:
  the throughput reported is that of the fastest (other load on a shared machine only
  ever adds time); all runs are in the JSON file.

For reference, ``predict_proba`` on the same records in this process, without Dask
(the fastest of ``--repeats`` runs after one untimed warm-up). Every distributed result
is checked against it (``rtol=1e-5``). TensorFlow's own thread pools are left at their
defaults: each worker's TensorFlow spreads one block over all the cores it sees, so two
workers on one machine share them rather than add cores.
"""

import argparse
import functools
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from _common import RESULTS, machine, superdiagnostic_models

RESULT = RESULTS / "distributed_predict.json"


def load_records(data_home, n_records):
    """``n_records`` records of fold 9, or the bundled sample repeated; and where from."""
    if data_home is not None:
        from cardionet_sk.datasets import fetch_ptbxl

        X, _ = fetch_ptbxl(data_home, folds=[9], return_X_y=True, download_if_missing=False)
        return X[:n_records], f"the first {min(n_records, len(X)):,} records of PTB-XL fold 9"
    from cardionet_sk.datasets import load_sample

    sample = load_sample().data
    X = np.resize(sample, (n_records, *sample.shape[1:]))
    return X, f"the 52 bundled sample records repeated to {n_records:,}"


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def single_process(models, X, repeats):
    """Seconds of in-process ``predict_proba`` per model, and its probabilities."""
    from cardionet_sk import load_pretrained

    seconds, proba = {}, {}
    for name in models:
        clf = load_pretrained(name)
        clf.predict_proba(X[:256])  # untimed: traces the prediction function
        runs = [timed(functools.partial(clf.predict_proba, X)) for _ in range(repeats)]
        seconds[name], proba[name] = [t for t, _ in runs], runs[0][1]
    return seconds, proba


def on_cluster(n_workers, models, X, chunk, repeats, expected):
    """Seconds of the first and of the later computations per model on ``n_workers``."""
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    from cardionet_sk import predict_proba_dask

    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        records = client.persist(da.from_array(X, chunks=(chunk, -1, -1)))
        wait(records)
        seconds = {}
        for name in models:
            proba = predict_proba_dask(name, records)
            first, result = timed(proba.compute)
            runs = [first] + [timed(proba.compute)[0] for _ in range(repeats)]
            np.testing.assert_allclose(result, expected[name], rtol=1e-5)
            seconds[name] = {"first": first, "warm": runs[1:]}
        return seconds


def table(result):
    n = result["records"]
    lines = [
        "# Distributed prediction",
        "",
        f"`python benchmarks/distributed_predict.py` on {result['machine']}: "
        f"{result['source']}, `predict_proba_dask` on a `LocalCluster` of worker processes "
        f"(one thread each), blocks of {result['chunk']} records persisted on the workers; "
        f"ECGs per second of the fastest of {result['repeats']} computations with the model "
        "loaded on every worker, and the seconds of the first computation (*first*), in "
        "which each worker loads the model (and starts TensorFlow). Every result equals "
        "in-process `predict_proba` (rtol 1e-5).",
        "",
        "| model | in-process `predict_proba` | "
        + " | ".join(f"{w} worker{'s' * (w > 1)}" for w in result["workers"])
        + " | "
        + " | ".join(f"first, {w} worker{'s' * (w > 1)}" for w in result["workers"])
        + " |",
        "|---" * (2 + 2 * len(result["workers"])) + "|",
    ]
    for name in result["models"]:
        local = n / min(result["seconds"]["in_process"][name])
        cluster = [result["seconds"][f"{w}_workers"][name] for w in result["workers"]]
        lines.append(
            f"| {name} | {local:,.0f} ECG/s | "
            + " | ".join(f"**{n / min(c['warm']):,.0f} ECG/s**" for c in cluster)
            + " | "
            + " | ".join(f"{c['first']:.1f} s" for c in cluster)
            + " |"
        )
    lines += [
        "",
        f"Load average just before the run: {result['load_average_before']:.1f} on "
        f"{result['cores']} cores (other work on the machine only ever adds time). The "
        f"machine has {result['cores']} cores: each worker's TensorFlow spreads a block over "
        "all of them, so a second worker on the same machine mostly competes for the same "
        "cores; more workers pay off with more machines, cores or GPUs (see "
        "docs/distributed.rst).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk", type=int, default=250)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--output", type=Path, default=RESULT)
    args = parser.parse_args()

    models = args.models or superdiagnostic_models()
    X, source = load_records(args.data_home, args.records)
    load_before = os.getloadavg()[0]
    in_process, expected = single_process(models, X, args.repeats)
    seconds = {"in_process": in_process}
    for n_workers in args.workers:
        seconds[f"{n_workers}_workers"] = on_cluster(
            n_workers, models, X, args.chunk, args.repeats, expected
        )
    result = {
        "records": len(X),
        "source": source,
        "chunk": args.chunk,
        "repeats": args.repeats,
        "workers": args.workers,
        "models": models,
        "seconds": seconds,
        "machine": machine(),
        "cores": len(os.sched_getaffinity(0)),
        "load_average_before": load_before,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    text = table(result)
    args.output.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
