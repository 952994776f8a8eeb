"""The model card (``README.md``) of a saved model, as a :class:`huggingface_hub.ModelCard`.

The card also formats the subgroup results that ``benchmarks/subgroups_ptbxl.py``
stores in a config's ``metrics["subgroups"]``; the benchmark's report and
``cardionet info`` use the same formatting, so that the three read alike.
``metrics["subgroups"]`` is::

    {"dataset": "PTB-XL fold 9", "n_bootstrap": 1000, "min_count": 5,
     "thresholds": {class: threshold},
     "groups": {"all" | "male" | "female" | "age < 40" | ... | "age unknown": {
         "n": int, "positives": {class: int},
         "macro_auc": float, "macro_auc_95ci": [low, high],
         "mean_sensitivity": ..., "mean_sensitivity_95ci": ...,
         "mean_specificity": ..., "mean_specificity_95ci": ...,
         "per_class": {class: {"auc", "auc_95ci", "sensitivity", "sensitivity_95ci",
                               "specificity", "specificity_95ci"}}}}}

A value (and its interval) is ``null`` where the subgroup has fewer than
``min_count`` positive or negative records of a class, and so are the macro
and mean values it would enter.

``metrics["external_validation"]``, stored by ``benchmarks/external_validation.py``,
is the model on records of other hospitals, shown as one row::

    {"dataset": str, "description": str, "n_records": int, "min_count": 5,
     "macro_auc": float | None, "macro_auc_95ci": [low, high] | None,
     "per_class": {class: {"auc": float | None, "auc_95ci": [low, high] | None,
                           "positives": int}}}
"""

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..datasets._ptbxl_tasks import TASKS as PTBXL_TASKS
from ._resolve import DEFAULT_REPO_ID

_TAGS = [
    "ecg",
    "electrocardiography",
    "ptb-xl",
    "scikit-learn",
    "keras",
    "multi-label-classification",
    "time-series-classification",
]

#: metrics key of a config -> (Hub metric type, display name).
_HEADLINE_METRICS = {"macro_auc": ("roc_auc", "macro AUC"), "macro_f1": ("f1", "macro F1")}


def card_data(config):
    """Hub metadata of a model: library, licence, tags, and its evaluation as ``eval_results``."""
    metrics = config.metrics or {}
    dataset = metrics.get("dataset", "PTB-XL")
    eval_results = [
        EvalResult(
            task_type="multi-label-classification",
            dataset_type="ptb-xl",
            dataset_name=dataset,
            metric_type=kind,
            metric_value=round(float(metrics[key]), 4),
            metric_name=label,
        )
        for key, (kind, label) in _HEADLINE_METRICS.items()
        if key in metrics
    ]
    return ModelCardData(
        library_name="cardionet-sk",
        license="cc-by-4.0",
        tags=list(_TAGS),
        datasets=["ptb-xl"],
        metrics=["roc_auc", "f1"],
        model_name=config.name or "cardionet",
        eval_results=eval_results or None,
    )


def model_card(config):
    """The :class:`~huggingface_hub.ModelCard` of a saved model: metadata and its text."""
    metrics = config.metrics or {}
    body = "\n".join(
        [
            f"# {config.name or 'CardioNet'}",
            "",
            config.description or "A CardioNet 12-lead ECG classifier saved by cardionet-sk.",
            "",
            *_usage(config),
            *_labels(config),
            *_intended_use(config),
            *_out_of_scope_use(),
            *_known_limitations(config),
            *_evaluation(metrics),
            *_subgroups(metrics.get("subgroups")),
            *_external_validation(metrics.get("external_validation")),
            *(["## Training", "", config.training, ""] if config.training else []),
            "## Data and citation",
            "",
            "Trained on PTB-XL v1.0.1 (Wagner, Strodthoff, Bousseljot, Samek, Schaeffter, 2020; "
            "PhysioNet, https://doi.org/10.13026/x4td-x982), licensed CC BY 4.0.",
            "",
        ]
    )
    return ModelCard(f"---\n{card_data(config).to_yaml()}\n---\n\n{body}")


def _usage(config):
    spec = config.input
    return [
        "## Use",
        "",
        "```python",
        "from cardionet_sk import CardioNetClassifier",
        f"clf = CardioNetClassifier.from_pretrained({config.repo_id or DEFAULT_REPO_ID!r})",
        f"proba = clf.predict_proba(X)   # X: (n_records, {spec.n_timesteps}, "
        f"{len(spec.leads)}) in {spec.units}",
        "labels = clf.predict(X)        # tuned per-class thresholds",
        "```",
        "",
        f"Input: {spec.n_timesteps} samples at {spec.sampling_rate:g} Hz ({spec.duration:g} s), "
        f"leads {', '.join(spec.leads)}, in {spec.units}; other lengths or rates are rejected "
        "with an error (resample with `PTBXLWindower`).",
        "",
        f"Outputs: one independent probability per class ({', '.join(map(str, config.classes))}"
        "); `predict` applies the thresholds "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(config.classes, config.thresholds))
        + ".",
        "",
    ]


def _labels(config):
    """The task and, when the config has them, what each label stands for."""
    if config.task is None and config.class_descriptions is None:
        return []
    lines = ["## Labels", ""]
    if config.task is not None:
        lines += [f"Task: `{config.task}`, {config.n_labels} labels.", ""]
    if config.class_descriptions is not None:
        lines += ["| label | description |", "|---|---|"]
        lines += [f"| {c} | {d} |" for c, d in zip(config.classes, config.class_descriptions)]
        lines.append("")
    return lines


def _intended_use(config):
    if config.task in (None, "superdiagnostic"):
        labels = (
            "Labels are the PTB-XL diagnostic superclasses, which are coarse: a record may "
            "carry several or none."
        )
    elif config.task in PTBXL_TASKS:
        labels = (
            f"Labels are the PTB-XL '{config.task}' statements: a record may carry several or "
            "none, and the rarest have few training records."
        )
    else:
        labels = f"Labels: {config.task}."
    return [
        "## Intended use",
        "",
        "Research on automated ECG interpretation: benchmarking, method development and "
        f"teaching, on resting 10-second 12-lead ECGs of adults like those of PTB-XL. {labels} "
        "**This is not a medical device**: it is not cleared or validated for clinical use.",
        "",
    ]


def _out_of_scope_use():
    return [
        "## Out-of-scope use",
        "",
        "- Clinical diagnosis, triage, screening, or any decision on a patient's diagnosis or "
        "treatment.",
        "- Other populations, recording devices, sampling rates, lead sets or pre-processing "
        "without a validation of its own on such data.",
        "- Children: fewer than 1 % of PTB-XL's records are of patients under 18, too few to "
        "tell how the model does on them.",
        "- Real-time or continuous monitoring (Holter, telemetry, wearables): the model was "
        "trained on resting 10-second recordings only.",
        "",
    ]


def _known_limitations(config):
    calibration = (
        "Its probabilities are calibrated on PTB-XL only; they need not be calibrated on other "
        "data."
        if config.calibration is not None
        else "Its probabilities are not calibrated: read them as scores, not frequencies."
    )
    priors = getattr(config, "calibration_priors", None)
    if config.calibration is not None and priors is not None:
        at = ", ".join(f"{c} {p:.0%}" for c, p in zip(config.classes, priors))
        calibration += (
            f" They hold for a population of PTB-XL's prevalences ({at}, those of the records "
            "the maps were fitted on); for another population, adapt them to its prevalences, "
            "estimated from its unlabelled records: `PriorShiftAdaptedClassifier` in Python, "
            "`cardionet predict --adapt-priors` on the command line."
        )
    lines = [
        "## Known limitations",
        "",
        "- Label noise: PTB-XL's labels are the statements of its original reports, about a "
        "third of them first written by the recording device's software; about 30 % of the "
        "records were never validated by a cardiologist, and the statements' likelihoods are "
        "ignored here.",
        "- Single source: every record comes from Schiller devices in Germany, 1989-1996.",
        f"- {calibration}",
    ]
    gap = _subgroup_gap((config.metrics or {}).get("subgroups"))
    return [*lines, *([f"- {gap}"] if gap else []), ""]


def _subgroup_gap(subgroups):
    """A sentence on how far apart subgroups are, if they were measured.

    Only subgroups large enough to measure every class are compared: the
    others would win or lose on a handful of records.
    """
    if not subgroups:
        return None
    groups = {
        name: group
        for name, group in subgroups["groups"].items()
        if name != "all" and group["macro_auc"] is not None
    }
    if len(groups) < 2:
        return None
    low = min(groups, key=lambda name: groups[name]["macro_auc"])
    high = max(groups, key=lambda name: groups[name]["macro_auc"])
    too_small = [name for name, group in subgroups["groups"].items() if _has_gaps(group)]
    return (
        f"Performance differs between subgroups (see Performance by subgroup): macro AUC "
        f"ranges from {groups[low]['macro_auc']:.3f} ({low}) to {groups[high]['macro_auc']:.3f} "
        f"({high}); {_widest_class_gap(groups)}"
        + (
            f"; too few records to measure every class in {', '.join(too_small)}"
            if too_small
            else ""
        )
        + "."
    )


def _widest_class_gap(groups):
    """The class and score at the shipped thresholds that differ most between ``groups``."""
    spreads = []
    for key in ("sensitivity", "specificity"):
        for class_name in next(iter(groups.values()))["per_class"]:
            ranked = sorted((g["per_class"][class_name][key], name) for name, g in groups.items())
            spreads.append((ranked[-1][0] - ranked[0][0], class_name, key, ranked[0], ranked[-1]))
    _, class_name, key, (low, low_name), (high, high_name) = max(spreads, key=lambda s: s[0])
    return (
        f"at the shipped thresholds, {class_name} {key} ranges from {low:.2f} ({low_name}) "
        f"to {high:.2f} ({high_name})"
    )


def _has_gaps(group):
    return any(value is None for row in group["per_class"].values() for value in row.values())


def _evaluation(metrics):
    if not metrics.get("per_class"):
        return []
    lines = [
        "## Evaluation",
        "",
        metrics.get("description", ""),
        "",
        "| class | AUC | F1 | precision | recall | support |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in metrics["per_class"].items():
        lines.append(
            f"| {name} | {row['auc']:.3f} | {row['f1']:.3f} | "
            f"{row['precision']:.3f} | {row['recall']:.3f} | {row['support']} |"
        )
    lines += [
        f"| **macro** | **{metrics['macro_auc']:.3f}** | **{metrics['macro_f1']:.3f}** | | | |",
        "",
    ]
    return lines


def _subgroups(subgroups):
    if not subgroups:
        return []
    return [
        "## Performance by subgroup",
        "",
        f"Measured by `benchmarks/subgroups_ptbxl.py` on {subgroups['dataset']} "
        f"({subgroups['groups']['all']['n']:,} records), by sex and age band (PTB-XL codes "
        "ages above 89 as 300, counted in age >= 80). Intervals are 95 % bootstrap intervals "
        f"({subgroups['n_bootstrap']:,} resamples of each subgroup's records). Sensitivity and "
        "specificity are at the shipped thresholds: where those were tuned on the same records "
        "(see Training), they are optimistic, though the comparison between subgroups still "
        "holds. n/a: fewer than "
        f"{subgroups['min_count']} positive or negative records of the class in the subgroup "
        "(and then no macro or mean value).",
        "",
        *subgroup_tables({None: subgroups}),
        "",
    ]


def _external_validation(external):
    """One row: the model on records of other hospitals, if it was measured on them."""
    if not external:
        return []
    per_class = external["per_class"]
    cells = [
        estimate_text(row["auc"], row["auc_95ci"])
        if row["auc"] is not None
        else f"n/a ({row['positives']} positives)"
        for row in per_class.values()
    ]
    return [
        "## External validation",
        "",
        f"Measured by `benchmarks/external_validation.py` on {external['dataset']}, records "
        f"the model never saw. {external['description']} These are few records: the 95 % "
        "bootstrap intervals are wide, and nothing was tuned on them. n/a: fewer than "
        f"{external['min_count']} positive or negative records of the class.",
        "",
        *_markdown_table(
            [
                ["records", "macro AUC (95 % CI)", *(f"{c} AUC" for c in per_class)],
                [
                    f"{external['n_records']:,}",
                    estimate_text(external["macro_auc"], external["macro_auc_95ci"]),
                    *cells,
                ],
            ]
        ),
        "",
    ]


def estimate_text(value, interval=None, digits=3):
    """``value`` with its interval, as ``0.917 (0.905-0.928)``, or ``n/a`` for ``None``."""
    if value is None:
        return "n/a"
    if interval is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({interval[0]:.{digits}f}-{interval[1]:.{digits}f})"


def subgroup_summary_lines(subgroups):
    """One line per subgroup: its size, macro AUC with its interval, mean sensitivity and
    specificity."""
    return [
        f"{name} (n={group['n']:,}): macro AUC "
        f"{estimate_text(group['macro_auc'], group['macro_auc_95ci'])}, mean sensitivity "
        f"{estimate_text(group['mean_sensitivity'], digits=2)}, mean specificity "
        f"{estimate_text(group['mean_specificity'], digits=2)}"
        for name, group in subgroups["groups"].items()
    ]


def subgroup_tables(by_model):
    """Markdown tables of subgroup results: a summary, then each class in each subgroup.

    Parameters
    ----------
    by_model : dict
        Model name -> its ``metrics["subgroups"]``. A single entry keyed ``None``
        (a model card's own results) leaves the model column out.

    Returns
    -------
    lines : list of str
    """
    named = list(by_model) != [None]
    summary, per_class = [], []
    for name, subgroups in by_model.items():
        model = [name] if named else []
        summary += [[*model, *row] for row in _summary_rows(subgroups["groups"])]
        per_class += [[*model, *row] for row in _class_rows(subgroups["groups"])]
    model = ["model"] if named else []
    return [
        *_markdown_table([[*model, *_SUMMARY_HEADER], *summary]),
        "",
        *_markdown_table([[*model, *_CLASS_HEADER], *per_class]),
    ]


_SUMMARY_HEADER = ("subgroup", "n", "macro AUC (95 % CI)", "mean sensitivity", "mean specificity")
_CLASS_HEADER = (
    "class",
    "subgroup",
    "positives",
    "AUC (95 % CI)",
    "sensitivity (95 % CI)",
    "specificity (95 % CI)",
)
#: Per-class scores of a subgroup, and the digits they are shown with.
_CLASS_SCORES = (("auc", 3), ("sensitivity", 2), ("specificity", 2))


def _summary_rows(groups):
    return [
        [
            name,
            f"{group['n']:,}",
            estimate_text(group["macro_auc"], group["macro_auc_95ci"]),
            estimate_text(group["mean_sensitivity"], digits=2),
            estimate_text(group["mean_specificity"], digits=2),
        ]
        for name, group in groups.items()
    ]


def _class_rows(groups):
    rows = []
    # Class by class, the subgroups one under the other: what a reader compares.
    for class_name in next(iter(groups.values()))["per_class"]:
        for name, group in groups.items():
            scores = group["per_class"][class_name]
            rows.append(
                [
                    class_name,
                    name,
                    f"{group['positives'][class_name]:,}",
                    *(
                        estimate_text(scores[key], scores[f"{key}_95ci"], digits)
                        for key, digits in _CLASS_SCORES
                    ),
                ]
            )
    return rows


def _markdown_table(rows):
    header, *body = rows
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in body),
    ]
