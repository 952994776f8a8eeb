import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline

from cardionet_sk import LEADS, PTBXLWindower


def _records(n_records=3, n_timesteps=1000, n_leads=12, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=(n_records, n_timesteps, n_leads)).astype(dtype)


@pytest.mark.parametrize(
    "n_timesteps, window_size, stride, n_windows",
    [(1000, 1000, None, 1), (1000, 250, None, 4), (1000, 250, 125, 7), (1003, 250, 125, 7)],
)
def test_window_j_of_record_i_is_the_slice_at_j_times_stride(
    n_timesteps, window_size, stride, n_windows
):
    X = _records(n_timesteps=n_timesteps, n_leads=4)
    windows = PTBXLWindower(window_size, stride).fit_transform(X)

    assert windows.shape == (3, n_windows, window_size, 4)
    step = window_size if stride is None else stride
    for i in range(3):
        for j in range(n_windows):
            assert_array_equal(windows[i, j], X[i, j * step : j * step + window_size])


def test_records_of_other_lengths_than_in_fit_are_windowed():
    windower = PTBXLWindower(250).fit(_records(n_timesteps=1000))

    assert windower.transform(_records(n_timesteps=600)).shape == (3, 2, 250, 12)


def test_2d_input_is_one_lead():
    X = _records(n_leads=1)[..., 0]

    windows = PTBXLWindower(500).fit_transform(X)

    assert windows.shape == (3, 2, 500, 1)
    assert_array_equal(windows[:, 1, :, 0], X[:, 500:])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("leads", [None, ["II"], ["V1", "V2", "V3"], [0, 2, 4], [11, 10, 9]])
def test_windows_are_a_view_of_the_input(dtype, leads):
    # Folds 1-8 of PTB-XL (17k records) must not be multiplied by the number
    # of windows, overlapping or not.
    X = _records(n_records=17, dtype=dtype)

    windows = PTBXLWindower(250, 50, leads=leads).fit_transform(X)

    assert windows.dtype == dtype
    assert np.shares_memory(windows, X)
    assert not windows.flags.writeable


@pytest.mark.parametrize(
    "params",
    [
        {"leads": ["I", "II", "V1"]},
        {"normalize": "record"},
        {"normalize": "global"},
        {"input_sampling_rate": 500, "resample_to": 250},
        {
            "leads": [0, 1, 6],
            "input_sampling_rate": 500,
            "resample_to": 250,
            "normalize": "record",
        },
    ],
)
def test_unavoidable_copy_is_of_the_records_not_of_the_windows(params):
    X = _records(dtype=np.float32)
    X_before = X.copy()

    windows = PTBXLWindower(250, 125, **params).fit_transform(X)

    assert windows.dtype == np.float32
    assert not np.shares_memory(windows, X)
    assert_array_equal(X, X_before)
    # Overlapping windows still share one copy of the records.
    assert np.shares_memory(windows[:, 0], windows[:, 1])


@pytest.mark.parametrize("input_rate, output_rate", [(500, 100), (100, 250)])
def test_resampling_keeps_frequency_and_amplitude_of_a_sine(input_rate, output_rate):
    frequency, amplitude, seconds = 5.0, 1.5, 10
    t_in = np.arange(seconds * input_rate) / input_rate
    X = amplitude * np.sin(2 * np.pi * frequency * t_in)[np.newaxis, :, np.newaxis]

    windower = PTBXLWindower(
        seconds * output_rate, input_sampling_rate=input_rate, resample_to=output_rate
    )
    windows = windower.fit_transform(X)

    assert windows.shape == (1, 1, seconds * output_rate, 1)
    t_out = np.arange(seconds * output_rate) / output_rate
    expected = amplitude * np.sin(2 * np.pi * frequency * t_out)
    # The resampling filter needs a few samples to settle at both ends.
    inner = slice(output_rate // 2, -output_rate // 2)
    assert_allclose(windows[0, 0, inner, 0], expected[inner], atol=1e-2)
    spectrum = np.abs(np.fft.rfft(windows[0, 0, :, 0]))
    peak = np.fft.rfftfreq(seconds * output_rate, d=1 / output_rate)[spectrum.argmax()]
    assert peak == pytest.approx(frequency)


def test_window_size_and_stride_count_samples_at_the_output_rate():
    X = _records(n_timesteps=5000)

    windows = PTBXLWindower(250, 125, input_sampling_rate=500, resample_to=100).fit_transform(X)

    assert windows.shape == (3, 7, 250, 12)


@pytest.mark.parametrize(
    "leads, expected",
    [
        (["aVR", "v1", "II"], [3, 6, 1]),
        (["AVR", "V1", "ii"], [3, 6, 1]),
        ([3, 6, 1], [3, 6, 1]),
        (np.array([3, 6, 1]), [3, 6, 1]),
        ([lead.lower() for lead in LEADS], list(range(12))),
        (None, list(range(12))),
    ],
)
def test_leads_are_selected_by_name_any_case_or_by_index(leads, expected):
    # Each lead holds its own index, so the output shows which leads were kept.
    X = np.broadcast_to(np.arange(12.0), (2, 500, 12))

    windower = PTBXLWindower(500, leads=leads).fit(X)
    windows = windower.transform(X)

    assert_array_equal(windower.lead_indices_, expected)
    assert_array_equal(windows[0, 0, 0], expected)


def test_record_normalization_gives_zero_mean_unit_std_per_record_and_lead():
    rng = np.random.default_rng(0)
    X = rng.normal(
        loc=rng.uniform(-2, 2, size=(4, 1, 3)),
        scale=rng.uniform(0.1, 3, size=(4, 1, 3)),
        size=(4, 1000, 3),
    )
    X[1, :, 2] = 7.0  # a flat lead must not turn into NaN

    windows = PTBXLWindower(1000, normalize="record").fit_transform(X)

    records = windows[:, 0]
    assert_allclose(np.delete(records.mean(axis=1), 5), 0, atol=1e-12)
    assert_allclose(np.delete(records.std(axis=1), 5), 1)
    assert_array_equal(records[1, :, 2], 0)


def test_global_normalization_learns_statistics_in_fit_and_applies_them_in_transform():
    rng = np.random.default_rng(0)
    X_train = rng.normal(loc=[0.0, 1.0, -2.0], scale=[1.0, 0.5, 3.0], size=(20, 500, 3))
    X_test = rng.normal(loc=5.0, scale=2.0, size=(2, 500, 3))

    windower = PTBXLWindower(250, normalize="global").fit(X_train)
    windows = windower.transform(X_test)

    assert_allclose(windower.mean_, X_train.mean(axis=(0, 1)))
    assert_allclose(windower.scale_, X_train.std(axis=(0, 1)))
    expected = (X_test - windower.mean_) / windower.scale_
    assert_allclose(windows[:, 1], expected[:, 250:])
    assert_allclose(windower.fit_transform(X_train), windower.fit(X_train).transform(X_train))


def test_global_statistics_are_of_the_selected_and_resampled_leads():
    X = _records(n_timesteps=1000)
    X[..., 6] = 4.0

    windower = PTBXLWindower(
        100, leads=["V1", "I"], input_sampling_rate=500, resample_to=100, normalize="global"
    ).fit(X)

    assert windower.mean_.shape == windower.scale_.shape == (2,)
    assert windower.mean_[0] == pytest.approx(4.0)
    assert windower.scale_[0] == 1.0  # flat lead
    assert_array_equal(windower.transform(X)[..., 0], 0)


def test_stateless_modes_set_no_statistics():
    windower = PTBXLWindower(500, normalize="record").fit(_records())

    assert windower.n_leads_in_ == 12
    assert not hasattr(windower, "mean_")
    assert not hasattr(windower, "scale_")


@pytest.mark.parametrize(
    "params, n_timesteps, message",
    [
        ({"window_size": 1000}, 999, "window_size=1000 is longer than the records, which have 999"),
        (
            {"window_size": 1000, "input_sampling_rate": 500, "resample_to": 100},
            4000,
            "window_size=1000 is longer than the records, which have 800 samples once resampled "
            "from 4000 samples",
        ),
    ],
)
def test_window_longer_than_record_is_rejected_naming_both_lengths(params, n_timesteps, message):
    X = _records(n_timesteps=n_timesteps)

    with pytest.raises(ValueError, match=re.escape(message)):
        PTBXLWindower(**params).fit(X)
    windower = PTBXLWindower(**params).fit(_records(n_timesteps=5000))
    with pytest.raises(ValueError, match=re.escape(message)):
        windower.transform(X)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"window_size": 0}, "window_size"),
        ({"window_size": 2.5}, "window_size"),
        ({"stride": 0}, "stride"),
        ({"stride": -5}, "stride"),
        ({"input_sampling_rate": 0}, "input_sampling_rate"),
        ({"resample_to": -100}, "resample_to"),
        ({"sampling_rate": -100}, "sampling_rate"),
        ({"normalize": "lead"}, "normalize"),
        ({"leads": "II"}, "leads"),
    ],
)
def test_invalid_parameters_are_rejected_naming_the_parameter(params, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of PTBXLWindower must be"):
        PTBXLWindower(**params).fit(_records())


@pytest.mark.parametrize(
    "leads, n_leads, message",
    [
        (["II", "V7"], 12, "Unknown lead names ['V7']; valid names (case-insensitive) are ['I', "),
        (["II"], 8, "Lead names need X to hold the 12 PTB-XL leads"),
        ([0, 12], 12, "Lead indices [12] are out of range for X with 12 leads"),
        ([-1], 12, "Lead indices [-1] are out of range"),
        ([0, "II"], 12, "leads must be all lead names or all integer indices"),
        ([1.0], 12, "leads must be all lead names or all integer indices"),
        ([], 12, "leads must name at least one lead"),
        (["II", "ii"], 12, "leads must not repeat a lead"),
        ([1, 2, 1], 12, "leads must not repeat a lead"),
    ],
)
def test_invalid_leads_are_rejected(leads, n_leads, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PTBXLWindower(100, leads=leads).fit(_records(n_leads=n_leads))


@pytest.mark.parametrize(
    "X, message",
    [
        (np.zeros(1000), "X must be a 2-D or 3-D array"),
        (np.zeros((2, 3, 1000, 12)), "got a 4-D array of shape (2, 3, 1000, 12)"),
        (
            np.where(np.arange(1000)[:, None] == 7, np.nan, np.zeros((2, 1000, 12))),
            "X contains NaN or infinity (first at index (0, 7, 0))",
        ),
    ],
)
def test_invalid_signals_are_rejected(X, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        PTBXLWindower(100).fit(X)
    windower = PTBXLWindower(100).fit(_records())
    with pytest.raises(ValueError, match=re.escape(message)):
        windower.transform(X)


def test_transform_rejects_another_number_of_leads():
    windower = PTBXLWindower(100).fit(_records(n_leads=12))

    with pytest.raises(ValueError, match="X has 8 leads, but PTBXLWindower was fitted on 12 leads"):
        windower.transform(_records(n_leads=8))


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        PTBXLWindower(100).transform(_records())


def _window_features(windows):
    """One row per window: the mean and standard deviation of each lead."""
    n_records, n_windows = windows.shape[:2]
    features = np.concatenate([windows.mean(axis=2), windows.std(axis=2)], axis=-1)
    return features.reshape(n_records * n_windows, -1)


class _WindowAveragingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on each window, probabilities averaged over a record's windows.

    A stand-in for CardioNetClassifier: the smallest classifier taking the
    (n_records, n_windows, window_size, n_leads) output of PTBXLWindower.
    """

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C).fit(
            _window_features(X), np.repeat(y, X.shape[1])
        )
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        proba = self.model_.predict_proba(_window_features(X))
        return proba.reshape(X.shape[0], X.shape[1], -1).mean(axis=1)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def test_windower_composes_in_a_pipeline_with_cross_validation_and_grid_search():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 30)
    t = np.arange(1000) / 100
    amplitude = np.where(y == 1, 2.0, 1.0)[:, None, None]
    X = amplitude * np.sin(2 * np.pi * 1.2 * t)[None, :, None] + rng.normal(
        scale=0.3, size=(60, 1000, 2)
    )
    pipeline = Pipeline(
        [("window", PTBXLWindower(250, 125)), ("clf", _WindowAveragingClassifier())]
    )

    scores = cross_val_score(pipeline, X, y, cv=3)
    search = GridSearchCV(
        pipeline, param_grid={"window__window_size": [250, 500], "clf__C": [0.1, 1.0]}, cv=3
    ).fit(X, y)

    assert scores.min() > 0.9
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.9
    assert search.best_estimator_.named_steps["window"].window_size in (250, 500)
    assert search.predict_proba(X).shape == (60, 2)


def test_real_ptbxl_records_are_windowed():
    try:
        from cardionet_sk.datasets import load_sample
    except ImportError:
        pytest.skip("cardionet_sk.datasets.load_sample is not available yet")
    X = np.asarray(load_sample().data)
    n_records, n_timesteps, _ = X.shape

    windower = PTBXLWindower(250, 125, leads=["II", "aVR", "V1"], normalize="record")
    windows = windower.fit_transform(X)

    assert windows.shape == (n_records, 1 + (n_timesteps - 250) // 125, 250, 3)
    assert np.isfinite(windows).all()
    records = X[:, :, [1, 3, 6]]
    expected = (records - records.mean(axis=1, keepdims=True)) / records.std(axis=1, keepdims=True)
    assert_allclose(windows[:, 2], expected[:, 250:500], rtol=1e-4, atol=1e-4)


def test_the_old_name_of_the_output_rate_still_works_with_a_future_warning():
    X = np.random.default_rng(0).normal(size=(2, 1000, 12))
    with pytest.warns(FutureWarning, match="renamed resample_to"):
        old = PTBXLWindower(100, input_sampling_rate=500, sampling_rate=100).fit_transform(X)
    new = PTBXLWindower(100, input_sampling_rate=500, resample_to=100).fit_transform(X)
    np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="both set the output rate"):
        PTBXLWindower(100, sampling_rate=100, resample_to=50).fit(X)
