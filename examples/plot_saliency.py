"""
What drove a prediction: Grad-CAM over the ECG
==============================================

Grad-CAM (Selvaraju et al. 2017) shows where in time a convolutional network found the
evidence for a class: the feature maps of its last convolutional layer, weighted by how
much the class score depends on each of them. Drawn behind the 12 leads, it shows which
beats and segments of a record drove each prediction of the pretrained model.

A saliency map explains the model, not the patient: a highlighted segment is where *this
network* found evidence, which need not be where a cardiologist would look.

The records are from PTB-XL (Wagner et al. 2020, PhysioNet,
https://doi.org/10.13026/x4td-x982, CC BY 4.0). This is research software, not a medical
device.
"""

# %%
# Inside the classifier
# ---------------------
#
# :meth:`~cardionet_sk.CardioNetClassifier.predict_proba` standardises each lead with the
# training statistics ``clf.mean_`` and ``clf.scale_`` and feeds the result to the Keras
# network ``clf.model_``, whose last layer, ``"probabilities"``, is a dense layer with a
# sigmoid per class. Grad-CAM needs two things from the network: the feature maps of the
# last convolutional layer (``"conv3"`` in CardioNet, 128 maps over 250 timesteps) and the
# class *score* before the sigmoid, which does not saturate the way the probability does.

# sphinx_gallery_thumbnail_number = 2
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from cardionet_sk import LEADS, CardioNetClassifier
from cardionet_sk.datasets import load_sample

sample = load_sample()
clf = CardioNetClassifier.from_pretrained(
    "cardionet-ptbxl"
)  # the published CNN
head = clf.model_.get_layer("probabilities")
last_conv = clf.model_.get_layer("conv3")
network = keras.Model(clf.model_.inputs, [last_conv.output, head.input])


def standardize(records_mv):
    """What predict_proba does to records in mV before the network."""
    return ((records_mv - clf.mean_) / clf.scale_).astype(np.float32)


def grad_cam(record_mv, class_index):
    """Grad-CAM of one class for one record, scaled to [0, 1].

    ``record_mv`` is (n_timesteps, n_leads) in mV. Also returns the class
    score (logit) that the map explains.
    """
    x = tf.constant(standardize(record_mv)[np.newaxis])
    with tf.GradientTape() as tape:
        maps, features = network(x, training=False)
        # The class scores before the sigmoid of the "probabilities" layer.
        score = (features @ head.kernel + head.bias)[0, class_index]
    # One weight per feature map: its gradient, averaged over time.
    gradients = tape.gradient(score, maps)  # (1, 250, 128)
    weights = tf.reduce_mean(gradients, axis=1, keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))[0].numpy()
    # Back to the record's timesteps: each of the 250 steps covers 4 samples.
    cam = np.interp(
        np.arange(len(record_mv)),
        np.linspace(0, len(record_mv) - 1, len(cam)),
        cam,
    )
    return cam / cam.max() if cam.max() > 0 else cam, float(score)


# %%
# A check: the sigmoid of the score Grad-CAM differentiates is the probability that
# ``predict_proba`` returns.

proba = clf.predict_proba(sample.data)
labels = clf.predict(sample.data)
classes = list(clf.classes_)
mi = classes.index("MI")

# A record with MI that the model labels as such, with few other labels.
candidates = np.flatnonzero((sample.target[:, mi] == 1) & (labels[:, mi] == 1))
if len(candidates):
    n_labels = sample.target[candidates].sum(axis=1)
    i = candidates[np.argsort(n_labels, kind="stable")[0]]
else:
    i = int(np.argmax(proba[:, mi]))
record = sample.data[i]

cam, score = grad_cam(record, mi)
print(f"ecg_id {sample.ecg_id[i]}: {sample.frame['scp_codes'].iloc[i]}")
print(f"sigmoid(score) = {1 / (1 + np.exp(-score)):.4f}")
print(f"predict_proba  = {proba[i, mi]:.4f}")

# %%
# Grad-CAM over the 12 leads
# --------------------------
#
# The leads of the record over its full 10 s, with the Grad-CAM map of MI as a band of
# colour behind them: the darker the red, the more that stretch of the record raised the
# MI score. CardioNet's convolutions mix all leads from the first layer on, so the map is
# one curve over time, shared by the leads.


def plot_cam(record_mv, cam, title, sampling_rate=100):
    """The 12 leads of a record over a colour band of a Grad-CAM map."""
    duration = len(record_mv) / sampling_rate
    time = np.arange(len(record_mv)) / sampling_rate
    fig, axes = plt.subplots(
        6, 2, figsize=(12, 7.5), sharex=True, layout="constrained"
    )
    # I-aVF on the left, V1-V6 on the right
    for k, ax in enumerate(axes.T.flat):
        low, high = record_mv[:, k].min(), record_mv[:, k].max()
        pad = 0.1 * (high - low) + 0.05
        image = ax.imshow(
            cam[np.newaxis],
            cmap="Reds",
            vmin=0,
            vmax=1,
            aspect="auto",
            alpha=0.8,
            extent=(0, duration, low - pad, high + pad),
        )
        ax.plot(time, record_mv[:, k], color="black", lw=0.7)
        ax.set_ylabel(
            LEADS[k].replace("AV", "aV"), rotation=0, ha="right", va="center"
        )
        ax.tick_params(labelsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(
        image, ax=axes, shrink=0.6, label="Grad-CAM (scaled to its maximum)"
    )
    fig.suptitle(title)
    return fig


true_labels = (
    ", ".join(c for c, on in zip(classes, sample.target[i]) if on) or "none"
)
plot_cam(
    record,
    cam,
    f"ecg_id {sample.ecg_id[i]}: Grad-CAM of MI, P(MI) = {proba[i, mi]:.2f} "
    f"(true labels: {true_labels})",
)
plt.show()

# %%
# Every class at once
# -------------------
#
# One Grad-CAM map per class, above lead II of the same record. Each class can rely on
# other parts of the record; classes that the model predicts (probability at or above their
# threshold) are marked.

time = np.arange(len(record)) / sample.sampling_rate
maps = np.array([grad_cam(record, j)[0] for j in range(len(classes))])
fig, (map_ax, lead_ax) = plt.subplots(
    2,
    1,
    figsize=(12, 4.2),
    sharex=True,
    layout="constrained",
    gridspec_kw={"height_ratios": [len(classes), 2.5]},
)
image = map_ax.imshow(
    maps,
    cmap="Reds",
    vmin=0,
    vmax=1,
    aspect="auto",
    extent=(0, time[-1], len(classes) - 0.5, -0.5),
    interpolation="nearest",
)
map_ax.set_yticks(
    range(len(classes)),
    [
        f"{c} {p:.2f}{' *' if on else ''}"
        for c, p, on in zip(classes, proba[i], labels[i])
    ],
)
map_ax.set_title(
    f"ecg_id {sample.ecg_id[i]}: Grad-CAM per class "
    "(probability; * = predicted)",
    fontsize=11,
)
lead_ax.plot(time, record[:, LEADS.index("II")], color="black", lw=0.8)
lead_ax.set(xlabel="time (s)", ylabel="II (mV)")
fig.colorbar(image, ax=map_ax, label="Grad-CAM")
plt.show()

# %%
# Several records
# ---------------
#
# One record of each class: for each of the five classes, the first record of the sample
# labelled with it (and not already shown), with the Grad-CAM map of that class over lead
# II: five records, five classes.

firsts = []
for j in range(len(classes)):
    firsts.append(
        next(
            int(r)
            for r in np.flatnonzero(sample.target[:, j])
            if r not in firsts
        )
    )
fig, axes = plt.subplots(
    len(firsts), 1, figsize=(12, 9), sharex=True, layout="constrained"
)
for j, (ax, r) in enumerate(zip(axes, firsts)):
    cam_r, _ = grad_cam(sample.data[r], j)
    signal = sample.data[r][:, LEADS.index("II")]
    low, high = signal.min(), signal.max()
    pad = 0.1 * (high - low) + 0.05
    ax.imshow(
        cam_r[np.newaxis],
        cmap="Reds",
        vmin=0,
        vmax=1,
        aspect="auto",
        alpha=0.8,
        extent=(0, time[-1], low - pad, high + pad),
    )
    ax.plot(time, signal, color="black", lw=0.7)
    truth = ", ".join(c for c, on in zip(classes, sample.target[r]) if on)
    ax.set_title(
        f"ecg_id {sample.ecg_id[r]} (true: {truth}): Grad-CAM of "
        f"{classes[j]}, P = {proba[r, j]:.2f}",
        fontsize=10,
        loc="left",
    )
    ax.set_ylabel("II (mV)")
axes[-1].set_xlabel("time (s)")
plt.show()

# %%
# Notes
# -----
#
# - Grad-CAM needs no reference input. Methods that do, such as integrated gradients,
#   explain the difference from that reference, and the usual choice for ECGs, a flat
#   0 mV line, is far from neutral for this model: its probabilities for a flat line,
#   printed below, are not those of a normal ECG, so attributions against it would
#   explain the difference from an abnormal input rather than from no signal.

print(
    dict(
        zip(
            classes,
            clf.predict_proba(np.zeros((1, 1000, 12)))[0].round(2).tolist(),
        )
    )
)

# %%
# - CardioNet flattens its last feature maps into a dense layer, so averaging the gradients
#   over time (the Grad-CAM weights) is an approximation; the maps are coarse (4 samples,
#   40 ms, per step) and show *when*, not *which lead*.
# - For the ``resnet1d_wang`` architecture, use its last residual block,
#   ``clf.model_.get_layer("block3_out")``, in place of ``"conv3"``.
# - Saliency maps of a network trained on one dataset reflect what separates its classes in
#   that dataset, including its artefacts. They are a tool for inspecting models, not a
#   clinical explanation.
