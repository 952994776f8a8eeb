"""Order of the gallery examples: from first use to the internals of a prediction."""

ORDER = [
    "plot_classify_sample.py",
    "plot_ecg_12lead.py",
    "plot_roc_pr_curves.py",
    "plot_threshold_tuning.py",
    "plot_calibration.py",
    "plot_grid_search.py",
    "plot_finetune.py",
    "plot_saliency.py",
]


class ExampleOrder:
    """Sort key of sphinx-gallery's ``within_subsection_order``: listed files first, in order,
    then any other example by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (ORDER.index(filename), filename) if filename in ORDER else (len(ORDER), filename)
