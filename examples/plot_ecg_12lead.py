"""
A 12-lead ECG with its predicted classes
========================================

Draw records of the bundled PTB-XL sample the way a 12-lead ECG is printed (ECG paper,
25 mm/s, 10 mm/mV, four 2.5 s columns and a 10 s rhythm strip of lead II) and show what
the pretrained model predicts for each, next to the labels of the cardiologists who read
it.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# Drawing a 12-lead ECG
# ---------------------
#
# One matplotlib axes holds the whole printout. The grid is ECG paper: a small square is
# 0.04 s by 0.1 mV, a large one 0.2 s by 0.5 mV, and the axes aspect keeps the squares
# square.

import matplotlib.pyplot as plt
import numpy as np

from cardionet_sk import LEADS, CardioNetClassifier
from cardionet_sk.datasets import load_sample

#: Leads of each printed row, one per 2.5 s column, then the rhythm strip.
LAYOUT = [
    ["I", "AVR", "V1", "V4"],
    ["II", "AVL", "V2", "V5"],
    ["III", "AVF", "V3", "V6"],
]
RHYTHM = "II"
ROW_MV = 3.0  # vertical distance between rows, in mV


def display_name(lead):
    return lead.replace("AV", "aV")


def ecg_paper(ax, duration, n_rows):
    """ECG paper behind ``n_rows`` rows of ``duration`` seconds."""
    top, bottom = ROW_MV / 2, -ROW_MV * (n_rows - 0.5)
    ax.set_xlim(0, duration)
    ax.set_ylim(bottom, top)
    ax.set_xticks(np.arange(0, duration + 1e-9, 0.2))
    ax.set_xticks(np.arange(0, duration + 1e-9, 0.04), minor=True)
    ax.set_yticks(np.arange(np.ceil(bottom / 0.5) * 0.5, top + 1e-9, 0.5))
    ax.set_yticks(
        np.arange(np.ceil(bottom / 0.1) * 0.1, top + 1e-9, 0.1), minor=True
    )
    ax.grid(which="major", color="#e8a0a0", linewidth=0.6)
    ax.grid(which="minor", color="#f6d6d6", linewidth=0.3)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_aspect(0.2 / 0.5)  # 0.2 s wide = 0.5 mV high
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_12lead(ax, signal, sampling_rate, color="black"):
    """Draw a (n_timesteps, 12) record in mV as a standard 12-lead printout."""
    n_timesteps = len(signal)
    time = np.arange(n_timesteps) / sampling_rate
    column = n_timesteps // 4
    ecg_paper(ax, n_timesteps / sampling_rate, n_rows=4)
    for row, leads in enumerate(LAYOUT):
        offset = -row * ROW_MV
        for col, lead in enumerate(leads):
            part = slice(col * column, (col + 1) * column)
            start = time[part][0]
            trace = signal[part, LEADS.index(lead)] + offset
            ax.plot(time[part], trace, color=color, lw=0.8)
            ax.text(start + 0.06, offset + 0.9, display_name(lead))
            if col:  # a tick where one column ends and the next begins
                ticks = [offset - 0.4, offset + 0.4]
                ax.plot([start, start], ticks, color=color, lw=1)
    offset = -len(LAYOUT) * ROW_MV
    trace = signal[:, LEADS.index(RHYTHM)] + offset
    ax.plot(time, trace, color=color, lw=0.8)
    ax.text(0.06, offset + 0.9, display_name(RHYTHM))
    bottom = -ROW_MV * 3.45
    ax.text(time[-1], bottom, "25 mm/s, 10 mm/mV ", ha="right", fontsize=8)


# %%
# Predictions
# -----------
#
# The pretrained model gives a probability per superclass; ``clf.threshold`` turns them
# into labels. We draw one record the model gets right and one it does not.

sample = load_sample()
clf = CardioNetClassifier.from_pretrained()
proba = clf.predict_proba(sample.data)
labels = clf.predict(sample.data)
correct = (labels == sample.target).all(axis=1)


def label_text(row):
    return ", ".join(c for c, on in zip(clf.classes_, row) if on) or "none"


def show_record(i):
    """The printout of record ``i`` and a bar chart of its probabilities."""
    fig = plt.figure(figsize=(12, 5.7), layout="constrained")
    ecg_ax, bar_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [5.2, 1]})
    plot_12lead(ecg_ax, sample.data[i], sample.sampling_rate)
    codes = ", ".join(sample.frame["scp_codes"].iloc[i])
    true, predicted = label_text(sample.target[i]), label_text(labels[i])
    fig.suptitle(
        f"PTB-XL ecg_id {sample.ecg_id[i]}: true {true}, "
        f"predicted {predicted}\n(SCP codes of the report: {codes})",
        fontsize=11,
    )

    positions = np.arange(len(clf.classes_))[::-1]
    colors = ["tab:red" if on else "tab:gray" for on in labels[i]]
    bar_ax.barh(positions, proba[i], color=colors, height=0.6)
    bar_ax.scatter(clf.threshold, positions, marker="|", s=500, color="black")
    for position, p in zip(positions, proba[i]):
        bar_ax.text(1.02, position, f"{p:.2f}", va="center", fontsize=9)
    bar_ax.set_yticks(positions, clf.classes_)
    bar_ax.set_xlim(0, 1)
    bar_ax.set_xlabel("probability")
    bar_ax.set_title("red: predicted\n|: class threshold", fontsize=9)
    bar_ax.set_box_aspect(2.2)
    return fig


# %%
# A record whose labels the model predicts exactly, among those with a myocardial
# infarction:

mi = list(clf.classes_).index("MI")
right = np.flatnonzero(correct & (sample.target[:, mi] == 1))
show_record(right[0] if len(right) else int(np.argmax(proba[:, mi])))
plt.show()

# %%
# And a record where the predicted labels differ from the true ones. The sample is small
# and mostly made of training records, so such mistakes are rarer here than on unseen
# ECGs (see the benchmarks page of the documentation for held-out results).

wrong = np.flatnonzero(~correct)
if len(wrong):
    show_record(wrong[0])
    plt.show()
else:
    print("The model predicts every record of the sample exactly.")
