"""Drift statistics: PSI, KS, Chi² and Jensen–Shannon on two windows of one signal.

Pure functions on numpy arrays and count mappings; scipy does the tests. Conventions:

- **PSI** (population stability index) = Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) over bins (or classes) with
  reference proportions rᵢ and current proportions cᵢ. A proportion of zero would make it
  infinite, so proportions are floored at :data:`PSI_EPSILON` (1e-4, no renormalisation): an
  empty bin then contributes a large but finite term (a bin going from 0 % to 10 % adds about
  0.1 · ln(0.1 / 1e-4) ≈ 0.69, i.e. CRITICAL on its own, which is what a new mode deserves).
- **Bins** for numeric signals: ``equal_width`` (default) cuts the union range of both windows
  in equal bins, so a shift outside the reference range lands in bins of its own; but one
  extreme value stretches the range and squeezes the bulk of a skewed signal into the first
  bins, which blunts PSI (text length 40 % longer on average: PSI 0.17 equal-width, 0.32
  quantile, in ``bench/drift.py``). ``quantile`` takes the edges from the reference's quantiles
  (equal-mass bins), with open outer bins catching current values beyond them.
- **KS** (``scipy.stats.ks_2samp``) for numeric signals, **Chi²** (``scipy.stats.chi2_contingency``
  on the 2 × K table of class counts) for the categorical one; p < :data:`P_VALUE_THRESHOLD`
  (0.05) flags drift.
- **Jensen–Shannon distance** (base 2, so 0..1) on the same bins / class proportions, unfloored,
  for reference: bounded and symmetric, it is what other tools (Evidently) report.

Numeric samples are raw arrays or :class:`ValueCounts` (distinct values and their counts, what a
``GROUP BY`` returns); both give identical results, the latter in O(distinct values).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, kstwo

from rakuten_assets.drift.severity import Severity, severity_from_psi

#: Floor of a bin's proportion in PSI, so that empty bins give a finite PSI.
PSI_EPSILON = 1e-4
#: KS and Chi² flag drift below this p-value.
P_VALUE_THRESHOLD = 0.05

Binning = Literal["equal_width", "quantile"]
BINNINGS: tuple[Binning, ...] = ("equal_width", "quantile")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


# --- PSI ------------------------------------------------------------------------------------


def _proportions(counts: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(counts, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} counts must be one-dimensional, got shape {array.shape}")
    if np.any(array < 0) or not np.all(np.isfinite(array)):
        raise ValueError(f"{name} counts must be finite and non-negative")
    total = array.sum()
    if total <= 0:
        raise ValueError(f"{name} counts are all zero: an empty window has no distribution")
    return array / total


def psi_from_counts(
    reference: npt.ArrayLike, current: npt.ArrayLike, *, epsilon: float = PSI_EPSILON
) -> float:
    """PSI of two aligned count vectors (same bins or classes, same order)."""
    ref = _proportions(reference, "reference")
    cur = _proportions(current, "current")
    if ref.shape != cur.shape:
        raise ValueError(f"count vectors are not aligned: {ref.shape[0]} vs {cur.shape[0]} bins")
    ref = np.maximum(ref, epsilon)
    cur = np.maximum(cur, epsilon)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


@dataclass(frozen=True)
class ValueCounts:
    """A sample of a numeric signal as its distinct values (ascending) and their counts.

    What a ``GROUP BY value`` returns: every statistic here works on it in O(distinct values)
    instead of O(rows), with the same result as on the expanded sample.
    """

    values: FloatArray
    counts: IntArray

    def __post_init__(self) -> None:
        values, counts = self.values, self.counts
        if values.ndim != 1 or values.shape != counts.shape:
            raise ValueError(
                f"values and counts must be aligned 1-D arrays, got {values.shape} and "
                f"{counts.shape}"
            )
        if values.size == 0:
            raise ValueError("the sample is empty")
        if not np.all(np.isfinite(values)):
            raise ValueError("the sample contains NaN or infinite values; drop them first")
        if np.any(np.diff(values) <= 0):
            raise ValueError("values must be distinct and in ascending order")
        if np.any(counts <= 0):
            raise ValueError("counts must be positive")

    @classmethod
    def of(cls, values: npt.ArrayLike, counts: npt.ArrayLike) -> ValueCounts:
        """From (distinct, ascending) values and their counts, e.g. a GROUP BY's rows."""
        return cls(np.asarray(values, dtype=np.float64), np.asarray(counts, dtype=np.int64))

    @classmethod
    def from_sample(cls, sample: npt.ArrayLike) -> ValueCounts:
        """From raw observations (any order, repeats allowed)."""
        array = np.asarray(sample, dtype=np.float64).ravel()
        if array.size and not np.all(np.isfinite(array)):
            raise ValueError("the sample contains NaN or infinite values; drop them first")
        values, counts = np.unique(array, return_counts=True)
        return cls(values, counts.astype(np.int64))

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.counts) / self.n)

    def expand(self) -> FloatArray:
        """The sample itself, sorted (O(rows): only where a statistic needs every row)."""
        return np.repeat(self.values, self.counts)


Sample = ValueCounts | npt.ArrayLike


def as_value_counts(sample: Sample, name: str = "sample") -> ValueCounts:
    """``sample`` as :class:`ValueCounts` (raw observations are counted)."""
    if isinstance(sample, ValueCounts):
        return sample
    try:
        return ValueCounts.from_sample(sample)
    except ValueError as exc:
        raise ValueError(f"the {name} sample: {exc}") from exc


def bin_edges(
    reference: Sample,
    current: Sample,
    *,
    bins: int,
    binning: Binning,
) -> FloatArray:
    """The bin edges PSI and JS use for a numeric signal.

    ``equal_width``: ``bins`` equal bins over [min, max] of both windows (one bin when the
    signal is constant). ``quantile``: edges at the reference's quantiles (numpy's default,
    linear), duplicates merged (discrete signals), outer edges at ±inf so that no current value
    falls outside.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    ref = as_value_counts(reference, "reference")
    cur = as_value_counts(current, "current")
    if binning == "equal_width":
        low = float(min(ref.values[0], cur.values[0]))
        high = float(max(ref.values[-1], cur.values[-1]))
        if low == high:
            return np.array([low, high])
        return np.linspace(low, high, bins + 1)
    if binning == "quantile":
        levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
        inner = np.unique(np.quantile(ref.expand(), levels))
        return np.concatenate([[-np.inf], inner, [np.inf]])
    raise ValueError(f"unknown binning {binning!r}; expected one of {', '.join(BINNINGS)}")


def histogram(sample: Sample, edges: FloatArray) -> IntArray:
    """Counts per bin: [eᵢ, eᵢ₊₁), the last bin closed on the right (like ``np.histogram``)."""
    counted = as_value_counts(sample, "binned")
    if edges.size < 2:
        raise ValueError("at least two bin edges are needed")
    # Values below the first / above the last finite edge would be silently absorbed by the
    # outer bins; with edges from bin_edges() that happens only for the open quantile bins.
    if np.isfinite(edges[0]) and counted.values[0] < edges[0]:
        raise ValueError(f"values below the first bin edge {edges[0]}")
    if np.isfinite(edges[-1]) and counted.values[-1] > edges[-1]:
        raise ValueError(f"values above the last bin edge {edges[-1]}")
    index = np.searchsorted(edges[1:-1], counted.values, side="right")
    totals = np.zeros(edges.size - 1, dtype=np.int64)
    np.add.at(totals, index, counted.counts)
    return totals


@dataclass(frozen=True)
class BinnedDistributions:
    """Both windows of a numeric signal on shared bins."""

    edges: FloatArray
    reference_counts: IntArray
    current_counts: IntArray


def binned(
    reference: Sample,
    current: Sample,
    *,
    bins: int,
    binning: Binning,
) -> BinnedDistributions:
    """Bin both samples on the same edges (see :func:`bin_edges`)."""
    ref = as_value_counts(reference, "reference")
    cur = as_value_counts(current, "current")
    edges = bin_edges(ref, cur, bins=bins, binning=binning)
    return BinnedDistributions(edges, histogram(ref, edges), histogram(cur, edges))


def psi(
    reference: Sample,
    current: Sample,
    *,
    bins: int,
    binning: Binning,
    epsilon: float = PSI_EPSILON,
) -> float:
    """PSI of two samples of a numeric signal (a constant signal in both windows gives 0)."""
    hist = binned(reference, current, bins=bins, binning=binning)
    return psi_from_counts(hist.reference_counts, hist.current_counts, epsilon=epsilon)


# --- Jensen–Shannon ---------------------------------------------------------------------------


def js_distance(reference: npt.ArrayLike, current: npt.ArrayLike) -> float:
    """Jensen–Shannon distance (base 2, in [0, 1]) of two aligned count vectors."""
    ref = _proportions(reference, "reference")
    cur = _proportions(current, "current")
    if ref.shape != cur.shape:
        raise ValueError(f"count vectors are not aligned: {ref.shape[0]} vs {cur.shape[0]} bins")
    # Tiny negative rounding inside scipy can give sqrt(-0.0) or NaN for identical inputs.
    return float(max(jensenshannon(ref, cur, base=2.0), 0.0))


# --- tests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    """A two-sample test: statistic, p-value, whether it flags drift, and caveats."""

    __test__ = False  # not a pytest test class

    test: Literal["ks", "chi2"]
    statistic: float
    p_value: float
    flagged: bool
    note: str | None = None


#: Largest window for which ``ks_2samp``'s default (method="auto") computes the exact p-value
#: (scipy's ``MAX_AUTO_N``); above it, it uses the asymptotic distribution ``kstwo``.
KS_EXACT_MAX_N = 10_000


def ks_test(reference: Sample, current: Sample) -> TestResult:
    """Two-sample Kolmogorov–Smirnov test, two-sided: the result of ``scipy.stats.ks_2samp``.

    Small windows go through ``ks_2samp`` itself (its exact p-value). Large ones get the same
    statistic from the two empirical CDFs at the distinct values (integer counts over n, as
    ``ks_2samp`` computes them) and the same asymptotic p-value ``kstwo.sf(D, round(n·m/(n+m)))``
    in O(distinct values) instead of sorting every row (a test checks both paths against
    ``ks_2samp``).
    """
    ref = as_value_counts(reference, "reference")
    cur = as_value_counts(current, "current")
    n_ref, n_cur = ref.n, cur.n
    if max(n_ref, n_cur) <= KS_EXACT_MAX_N:
        result = ks_2samp(ref.expand(), cur.expand())
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        points = np.union1d(ref.values, cur.values)
        cdf_ref = _cumulative(ref, points) / n_ref
        cdf_cur = _cumulative(cur, points) / n_cur
        differences = cdf_ref - cdf_cur
        statistic = float(max(np.clip(-differences.min(), 0, 1), differences.max()))
        larger, smaller = max(n_ref, n_cur), min(n_ref, n_cur)
        effective_n = np.round(float(larger) * smaller / (larger + smaller))
        p_value = float(np.clip(kstwo.sf(statistic, effective_n), 0.0, 1.0))
    return TestResult("ks", statistic, p_value, p_value < P_VALUE_THRESHOLD)


def _cumulative(sample: ValueCounts, points: FloatArray) -> IntArray:
    """How many observations of ``sample`` are <= each point."""
    below = np.searchsorted(sample.values, points, side="right")
    cumulative = np.concatenate([[0], np.cumsum(sample.counts)])
    return cumulative[below]


@dataclass(frozen=True)
class ClassCounts:
    """Both windows' counts of a categorical signal over the union of their classes."""

    categories: tuple[int, ...]
    reference_counts: IntArray
    current_counts: IntArray


def align_classes(reference: Mapping[int, int], current: Mapping[int, int]) -> ClassCounts:
    """Align two class → count mappings on the union of classes (sorted).

    A class absent from one window gets 0 there and is kept: appearing or vanishing is the
    strongest drift a class can show. A class with 0 in both windows carries no information and
    is dropped.
    """
    for name, counts in (("reference", reference), ("current", current)):
        negative = [c for c, n in counts.items() if n < 0]
        if negative:
            raise ValueError(f"{name} class counts are negative for classes {negative}")
    categories = tuple(
        sorted(c for c in set(reference) | set(current) if reference.get(c, 0) + current.get(c, 0))
    )
    return ClassCounts(
        categories,
        np.array([reference.get(c, 0) for c in categories], dtype=np.int64),
        np.array([current.get(c, 0) for c in categories], dtype=np.int64),
    )


def chi2_test(reference: Mapping[int, int], current: Mapping[int, int]) -> TestResult:
    """Chi² test of independence (window × class) on the 2 × K table of class counts.

    ``scipy.stats.chi2_contingency`` with its defaults (Yates' correction applies only when
    K = 2). With a single class there is no distribution to compare: statistic 0, p-value 1.0,
    not flagged, and the result says so.
    """
    aligned = align_classes(reference, current)
    if aligned.reference_counts.sum() == 0 or aligned.current_counts.sum() == 0:
        raise ValueError("a Chi² test needs at least one observation in each window")
    if len(aligned.categories) < 2:
        return TestResult("chi2", 0.0, 1.0, False, note="one class only: no test possible")
    table = np.vstack([aligned.reference_counts, aligned.current_counts])
    result = chi2_contingency(table)
    p_value = float(result.pvalue)
    return TestResult("chi2", float(result.statistic), p_value, p_value < P_VALUE_THRESHOLD)


# --- one signal, both windows -----------------------------------------------------------------


def signal_severity(psi_value: float, confirmed: bool) -> Severity:
    """Severity of one signal: its PSI severity when its test confirms, else at most WARNING.

    Magnitude *and* significance: PSI alone on a few hundred rows moves by chance (a noisy bin
    is enough for 0.2), and a test alone on a million rows flags shifts too small to matter. A
    PSI that the test does not confirm is still worth watching, hence WARNING, not OK.
    """
    severity = severity_from_psi(psi_value)
    return severity if confirmed else min(severity, Severity.WARNING)


@dataclass(frozen=True)
class SignalResult:
    """Drift of one signal between the reference and the current window.

    ``edges`` (numeric signals; ±inf for the open quantile bins) or ``categories`` (the class
    codes) label the bins that ``reference_share`` / ``current_share`` give proportions for.
    """

    name: str
    kind: Literal["numeric", "categorical"]
    test: Literal["ks", "chi2"]
    psi: float
    psi_severity: Severity
    statistic: float
    p_value: float
    #: The test confirms a drift (p < 0.05).
    flagged: bool
    #: The signal's severity after the combination rule (:func:`signal_severity`).
    severity: Severity
    js_distance: float
    reference_count: int
    current_count: int
    reference_share: tuple[float, ...]
    current_share: tuple[float, ...]
    edges: tuple[float, ...] | None = None
    categories: tuple[int, ...] | None = None
    reference_mean: float | None = None
    current_mean: float | None = None
    binning: Binning | None = None
    note: str | None = None


def _shares(counts: IntArray) -> tuple[float, ...]:
    return tuple(float(x) for x in counts / counts.sum())


def _result(
    name: str,
    kind: Literal["numeric", "categorical"],
    test: TestResult,
    reference_counts: IntArray,
    current_counts: IntArray,
    **described: Any,
) -> SignalResult:
    """The result of one signal from its binned counts and its test: PSI, the combined
    severity and JS distance are computed the same way for both kinds of signal."""
    psi_value = psi_from_counts(reference_counts, current_counts)
    return SignalResult(
        name=name,
        kind=kind,
        test=test.test,
        psi=psi_value,
        psi_severity=severity_from_psi(psi_value),
        statistic=test.statistic,
        p_value=test.p_value,
        flagged=test.flagged,
        severity=signal_severity(psi_value, test.flagged),
        js_distance=js_distance(reference_counts, current_counts),
        reference_share=_shares(reference_counts),
        current_share=_shares(current_counts),
        **described,
    )


def compare_numeric(
    name: str,
    reference: Sample,
    current: Sample,
    *,
    bins: int,
    binning: Binning,
) -> SignalResult:
    """PSI (on ``binning`` bins), KS and JS of a numeric signal's two samples."""
    ref = as_value_counts(reference, "reference")
    cur = as_value_counts(current, "current")
    hist = binned(ref, cur, bins=bins, binning=binning)
    test = ks_test(ref, cur)
    constant = ref.values.size == cur.values.size == 1 and ref.values[0] == cur.values[0]
    return _result(
        name,
        "numeric",
        test,
        hist.reference_counts,
        hist.current_counts,
        reference_count=ref.n,
        current_count=cur.n,
        edges=tuple(float(e) for e in hist.edges),
        reference_mean=ref.mean,
        current_mean=cur.mean,
        binning=binning,
        note="constant in both windows" if constant else None,
    )


def compare_categorical(
    name: str, reference: Mapping[int, int], current: Mapping[int, int]
) -> SignalResult:
    """PSI over class proportions, Chi² and JS of a categorical signal's class counts."""
    aligned = align_classes(reference, current)
    test = chi2_test(reference, current)
    return _result(
        name,
        "categorical",
        test,
        aligned.reference_counts,
        aligned.current_counts,
        reference_count=int(aligned.reference_counts.sum()),
        current_count=int(aligned.current_counts.sum()),
        categories=aligned.categories,
        note=test.note,
    )
