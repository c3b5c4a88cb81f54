"""Drift statistics against reference computations: scipy itself, or numbers worked out by hand."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from rakuten_assets.drift.severity import Severity, severity_from_psi
from rakuten_assets.drift.stats import (
    KS_EXACT_MAX_N,
    PSI_EPSILON,
    ValueCounts,
    align_classes,
    bin_edges,
    binned,
    chi2_test,
    compare_categorical,
    compare_numeric,
    histogram,
    js_distance,
    ks_test,
    psi,
    psi_from_counts,
    signal_severity,
)

#: Ten bins (as DRIFT_BINS by default), equal-width or at the reference quantiles.
EQUAL_WIDTH: dict[str, Any] = {"bins": 10, "binning": "equal_width"}
QUANTILE: dict[str, Any] = {"bins": 10, "binning": "quantile"}


def reference_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI written out independently: Σ (c - r) ln(c / r) on floored proportions."""
    r = np.maximum(reference / reference.sum(), PSI_EPSILON)
    c = np.maximum(current / current.sum(), PSI_EPSILON)
    return float(sum((ci - ri) * math.log(ci / ri) for ri, ci in zip(r, c, strict=True)))


# --- severity ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "confirmed", "expected"),
    [
        (0.45, True, Severity.CRITICAL),
        (0.45, False, Severity.WARNING),  # big PSI the test does not confirm: capped
        (0.25, True, Severity.ALERT),
        (0.25, False, Severity.WARNING),
        (0.15, False, Severity.WARNING),  # below the cap: unchanged
        (0.05, True, Severity.OK),  # significant but tiny: OK
        (0.05, False, Severity.OK),
    ],
)
def test_signal_severity_needs_magnitude_and_significance(
    value: float, confirmed: bool, expected: Severity
) -> None:
    assert signal_severity(value, confirmed) is expected


# --- PSI ----------------------------------------------------------------------------------------


def test_psi_from_counts_matches_a_hand_computation() -> None:
    # r = (0.5, 0.5), c = (0.8, 0.2):
    # (0.8 - 0.5) ln(0.8 / 0.5) + (0.2 - 0.5) ln(0.2 / 0.5)
    # = 0.3 × 0.4700036 + (-0.3) × (-0.9162907) = 0.1410011 + 0.2748872 = 0.4158883
    assert psi_from_counts([50, 50], [80, 20]) == pytest.approx(0.4158883, abs=1e-7)


def test_psi_of_an_empty_bin_is_finite_thanks_to_the_floor() -> None:
    # r = (1, 0 -> 1e-4), c = (0.5, 0.5):
    # (0.5 - 1) ln(0.5 / 1) + (0.5 - 1e-4) ln(0.5 / 1e-4)
    # = 0.5 × 0.6931472 + 0.4999 × 8.5171932 = 0.3465736 + 4.2577449 = 4.6043185
    value = psi_from_counts([100, 0], [50, 50])
    assert math.isfinite(value)
    assert value == pytest.approx(4.6043185, abs=1e-6)
    assert severity_from_psi(value) is Severity.CRITICAL


def test_psi_is_zero_for_identical_distributions() -> None:
    assert psi_from_counts([10, 20, 30], [1, 2, 3]) == 0.0


@pytest.mark.parametrize(
    ("reference", "current", "message"),
    [
        ([0, 0], [1, 1], "all zero"),
        ([1, 2], [1, 2, 3], "not aligned"),
        ([1, -1], [1, 1], "non-negative"),
    ],
)
def test_psi_from_counts_rejects_invalid_counts(
    reference: list[int], current: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        psi_from_counts(reference, current)


def test_equal_width_psi_matches_numpy_histogram_over_the_union_range() -> None:
    rng = np.random.default_rng(3)
    reference = rng.normal(0.0, 1.0, 2_000)
    current = rng.normal(0.4, 1.2, 700)
    edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins=10)
    expected = reference_psi(
        np.histogram(reference, edges)[0].astype(float),
        np.histogram(current, edges)[0].astype(float),
    )
    assert psi(reference, current, **EQUAL_WIDTH) == pytest.approx(expected, rel=1e-12)
    hist = binned(reference, current, **EQUAL_WIDTH)
    np.testing.assert_array_equal(hist.edges, edges)


def test_histogram_bins_like_numpy_including_edges_and_the_maximum() -> None:
    values = np.array([0.0, 1.0, 1.0, 2.5, 5.0, 10.0, 10.0])  # on edges, and the max twice
    edges = np.linspace(0.0, 10.0, 11)
    np.testing.assert_array_equal(histogram(values, edges), np.histogram(values, edges)[0])


def test_histogram_refuses_values_outside_finite_edges() -> None:
    with pytest.raises(ValueError, match="above the last bin edge"):
        histogram([1.0, 11.0], np.linspace(0.0, 10.0, 11))


def test_a_constant_signal_has_psi_zero() -> None:
    assert psi([5.0] * 100, [5.0] * 30, **EQUAL_WIDTH) == 0.0
    result = compare_numeric("text_length", [5.0] * 100, [5.0] * 30, **EQUAL_WIDTH)
    assert result.psi == 0.0
    assert result.severity is Severity.OK
    assert result.note == "constant in both windows"


def test_a_constant_signal_that_moves_is_a_drift() -> None:
    # Two single values: equal-width bins put them in the first and the last bin.
    assert psi([5.0] * 100, [6.0] * 100, **EQUAL_WIDTH) == pytest.approx(
        reference_psi(np.array([1.0] + [0.0] * 9), np.array([0.0] * 9 + [1.0]))
    )


def test_quantile_bins_take_their_edges_from_the_reference() -> None:
    rng = np.random.default_rng(5)
    reference = rng.normal(0.0, 1.0, 1_000)
    current = rng.normal(3.0, 1.0, 300)  # mostly beyond the reference's top decile
    edges = bin_edges(reference, current, **QUANTILE)
    assert edges[0] == -np.inf
    assert edges[-1] == np.inf
    np.testing.assert_allclose(edges[1:-1], np.quantile(reference, np.linspace(0, 1, 11)[1:-1]))
    hist = binned(reference, current, **QUANTILE)
    assert hist.reference_counts.tolist() == [100] * 10  # equal-mass bins
    expected_current = [
        int(np.sum((current >= low) & (current < high))) for low, high in itertools.pairwise(edges)
    ]
    assert hist.current_counts.tolist() == expected_current
    assert sum(expected_current) == len(current)  # nothing falls outside the open outer bins
    assert psi(reference, current, **QUANTILE) == pytest.approx(
        reference_psi(hist.reference_counts.astype(float), np.array(expected_current, float))
    )


def test_quantile_bins_merge_duplicate_edges_of_discrete_signals() -> None:
    reference = [1] * 50 + [2] * 30 + [3] * 20
    edges = bin_edges(reference, [1, 2, 3], **QUANTILE)
    # Deciles are 1 (x4), then 1.x and 2s and 3s: duplicates merged, strictly increasing.
    assert np.all(np.diff(edges) > 0)
    assert psi(reference, reference, **QUANTILE) == 0.0


def test_unknown_binning_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown binning"):
        bin_edges([1.0], [2.0], bins=10, binning="fancy")  # type: ignore[arg-type]


# --- KS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_reference", "n_current"),
    [
        (30, 45),  # exact p-value
        (KS_EXACT_MAX_N, 4_000),  # the largest exact case
        (KS_EXACT_MAX_N + 1, 4_000),  # the first asymptotic case
        (60_000, 15_000),
    ],
)
def test_ks_equals_scipy_ks_2samp_on_data_with_ties(n_reference: int, n_current: int) -> None:
    rng = np.random.default_rng(n_reference)
    reference = np.rint(rng.normal(100.0, 15.0, n_reference))
    current = np.rint(rng.normal(100.8, 15.0, n_current))
    expected = ks_2samp(reference, current)
    for result in (
        ks_test(reference, current),
        ks_test(ValueCounts.from_sample(reference), ValueCounts.from_sample(current)),
    ):
        assert result.statistic == float(expected.statistic)
        assert result.p_value == float(expected.pvalue)
        assert result.flagged is bool(expected.pvalue < 0.05)


def test_ks_of_identical_windows_does_not_flag() -> None:
    sample = np.arange(200.0)
    result = ks_test(sample, sample)
    assert (result.statistic, result.p_value, result.flagged) == (0.0, 1.0, False)


def test_ks_flags_a_clear_shift() -> None:
    rng = np.random.default_rng(9)
    result = ks_test(rng.normal(0, 1, 20_000), rng.normal(0.5, 1, 20_000))
    assert result.flagged
    assert result.p_value < 1e-10


# --- Chi² -----------------------------------------------------------------------------------------


def test_chi2_equals_scipy_on_the_two_by_k_table() -> None:
    reference = {10: 120, 40: 80, 50: 50}
    current = {10: 40, 40: 50, 50: 10}
    expected = chi2_contingency(np.array([[120, 80, 50], [40, 50, 10]]))
    result = chi2_test(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.flagged


def test_a_class_absent_from_one_window_is_kept_as_a_zero() -> None:
    reference = {10: 100, 40: 100}
    current = {10: 60, 40: 60, 2905: 80}  # a new class appears
    aligned = align_classes(reference, current)
    assert aligned.categories == (10, 40, 2905)
    assert aligned.reference_counts.tolist() == [100, 100, 0]
    expected = chi2_contingency(np.array([[100, 100, 0], [60, 60, 80]]))
    result = chi2_test(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.flagged
    signal = compare_categorical("predicted_class", reference, current)
    assert signal.psi == pytest.approx(psi_from_counts([100, 100, 0], [60, 60, 80]))
    assert signal.severity is Severity.CRITICAL


def test_a_class_absent_from_both_windows_is_dropped() -> None:
    aligned = align_classes({10: 5, 40: 0}, {10: 3, 40: 0, 50: 2})
    assert aligned.categories == (10, 50)
    with_zeros = chi2_test({10: 30, 40: 20, 60: 0}, {10: 10, 40: 25, 60: 0})
    without = chi2_test({10: 30, 40: 20}, {10: 10, 40: 25})
    assert with_zeros == without


def test_one_class_only_gives_no_test() -> None:
    result = chi2_test({1280: 500}, {1280: 300})
    assert (result.statistic, result.p_value, result.flagged) == (0.0, 1.0, False)
    assert result.note is not None
    assert "one class only" in result.note
    signal = compare_categorical("predicted_class", {1280: 500}, {1280: 300})
    assert (signal.psi, signal.js_distance, signal.severity) == (0.0, 0.0, Severity.OK)
    assert signal.note == result.note


def test_chi2_needs_both_windows() -> None:
    with pytest.raises(ValueError, match="each window"):
        chi2_test({10: 5}, {})


# --- Jensen–Shannon -------------------------------------------------------------------------------


def test_js_distance_equals_scipy_base_two() -> None:
    reference, current = [10, 30, 60, 0], [25, 25, 25, 25]
    expected = jensenshannon(np.array(reference) / 100, np.array(current) / 100, base=2)
    assert js_distance(reference, current) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("reference", "current", "expected"),
    [([1, 2, 3], [2, 4, 6], 0.0), ([5, 0], [0, 5], 1.0)],
)
def test_js_distance_bounds(reference: list[int], current: list[int], expected: float) -> None:
    assert js_distance(reference, current) == pytest.approx(expected, abs=1e-12)


# --- one signal, both windows ---------------------------------------------------------------------


def test_identical_windows_are_ok_on_every_statistic() -> None:
    sample = np.random.default_rng(1).lognormal(4.5, 0.6, 1_000)
    result = compare_numeric("text_length", sample, sample.copy(), **EQUAL_WIDTH)
    assert (result.psi, result.statistic, result.p_value) == (0.0, 0.0, 1.0)
    assert result.js_distance == 0.0
    assert (result.severity, result.flagged) == (Severity.OK, False)
    classes = compare_categorical("predicted_class", {10: 7, 40: 3}, {10: 70, 40: 30})
    assert classes.psi == 0.0
    assert classes.p_value == pytest.approx(1.0)
    assert classes.severity is Severity.OK


def test_a_large_psi_on_a_small_sample_is_capped_at_warning() -> None:
    # 20 rows per window: 50/50 -> 20/80 gives PSI 0.416 (CRITICAL by PSI alone), but KS on
    # 20 vs 20 rows does not confirm it (D = 0.3, p = 0.33).
    reference = [10.0] * 10 + [20.0] * 10
    current = [10.0] * 4 + [20.0] * 16
    result = compare_numeric("text_length", reference, current, **EQUAL_WIDTH)
    assert result.psi == pytest.approx(psi_from_counts([10, 10], [4, 16]))
    assert result.psi_severity is Severity.CRITICAL
    assert result.p_value == pytest.approx(ks_2samp(reference, current).pvalue)
    assert not result.flagged
    assert result.severity is Severity.WARNING


def test_the_same_shift_on_many_rows_is_confirmed() -> None:
    reference = [10.0] * 1_000 + [20.0] * 1_000
    current = [10.0] * 400 + [20.0] * 1_600
    result = compare_numeric("text_length", reference, current, **EQUAL_WIDTH)
    assert result.flagged
    assert result.severity is Severity.CRITICAL


def test_compare_numeric_reports_shares_edges_and_means() -> None:
    result = compare_numeric(
        "word_count", [1, 2, 3, 4], [3, 4, 5, 6], bins=5, binning="equal_width"
    )
    assert result.edges == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert result.reference_share == (0.25, 0.25, 0.25, 0.25, 0.0)
    assert result.current_share == (0.0, 0.0, 0.25, 0.25, 0.5)
    assert (result.reference_mean, result.current_mean) == (2.5, 4.5)
    assert (result.reference_count, result.current_count) == (4, 4)


def test_value_counts_equal_their_expanded_sample() -> None:
    rng = np.random.default_rng(2)
    reference = np.rint(rng.gamma(2.0, 30.0, 5_000))
    current = np.rint(rng.gamma(2.2, 30.0, 3_000))
    raw = compare_numeric("text_length", reference, current, **QUANTILE)
    counted = compare_numeric(
        "text_length",
        ValueCounts.from_sample(reference),
        ValueCounts.from_sample(current),
        **QUANTILE,
    )
    assert raw == counted


@pytest.mark.parametrize(
    ("values", "counts", "message"),
    [
        ([], [], "empty"),
        ([1.0, float("nan")], [1, 1], "NaN"),
        ([2.0, 1.0], [1, 1], "ascending"),
        ([1.0, 2.0], [1, 0], "positive"),
        ([1.0, 2.0], [1], "aligned"),
    ],
)
def test_value_counts_validate_their_input(
    values: list[float], counts: list[int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ValueCounts.of(values, counts)


@pytest.mark.parametrize("sample", [[], [1.0, float("nan")], [float("inf")]])
def test_samples_must_be_non_empty_and_finite(sample: list[float]) -> None:
    with pytest.raises(ValueError, match="reference sample"):
        compare_numeric("confidence", sample, [0.5], **EQUAL_WIDTH)
