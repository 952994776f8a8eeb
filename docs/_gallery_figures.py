"""Gallery figures legible at page width: every figure is saved at 200 dpi."""

import matplotlib

#: Resolution of the gallery's figures; matplotlib's default, 100 dpi, blurs ECG traces.
DPI = 200


def hidpi(gallery_conf, fname, when=None):
    """A ``reset_modules`` hook of sphinx-gallery, run before each example."""
    matplotlib.rcParams["savefig.dpi"] = DPI
