r"""Paired statistics for ablation reports: is a setting better than the baseline,
beyond the run-to-run noise?

Two settings trained with the same seeds are compared seed by seed: the
differences :math:`d_i = m_i - b_i` of a metric (COCO AP) have mean
:math:`\bar d` and sample standard deviation :math:`s`, and the 95% confidence
interval of the true mean difference is Student's

.. math::

    \bar d \pm t_{0.975,\,n-1} \, s / \sqrt{n}.

A setting is *better* (*worse*) when the whole interval lies above (below) zero,
*within noise* otherwise; with fewer than two paired seeds there is no spread to
estimate and nothing is claimed. The interval excludes zero exactly when the
two-sided p-value of the paired t-test,
:math:`p = P(|T_{n-1}| \ge |\bar d| \sqrt{n} / s)`, is below 0.05; a grid of
:math:`m` comparisons corrects for their number with Holm's step-down
(:func:`holm_rejected`). Pairing by seed removes what the runs of one seed
share (the data order, the initialisation), so it resolves smaller differences than
comparing two means.

Pure Python: the t distribution for the integer degrees of freedom of paired seeds
has a closed form (Abramowitz & Stegun 26.7.3-4), so no scipy is needed.
"""
import math
import statistics
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence, Tuple

from mmdet_losses.functional.validation import check_number

BETTER, WORSE, WITHIN_NOISE, TOO_FEW = ('better', 'worse', 'within noise',
                                        'too few seeds')
MIN_PAIRS = 2


def _check_df(df) -> int:
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f'df must be an integer >= 1, got {df!r}')
    return df


def t_central_probability(t: float, df: int) -> float:
    r""":math:`P(|T| \le t)` for Student's t with ``df`` (integer) degrees of freedom.

    .. math::

        \theta = \arctan(t/\sqrt{\nu}),\quad
        A = \begin{cases}
        \frac{2}{\pi}\left[\theta + \sin\theta \sum_{k=0}^{(\nu-3)/2}
            c_k \cos^{2k+1}\theta\right] & \nu \text{ odd},\
            c_0 = 1,\ c_k = c_{k-1}\frac{2k}{2k+1} \\
        \sin\theta \sum_{k=0}^{(\nu-2)/2} d_k \cos^{2k}\theta
            & \nu \text{ even},\ d_0 = 1,\ d_k = d_{k-1}\frac{2k-1}{2k}
        \end{cases}

    (Abramowitz & Stegun 26.7.3 and 26.7.4; the odd sum is empty for
    :math:`\nu = 1`, the Cauchy distribution).
    """
    df = _check_df(df)
    t = abs(float(t))
    if math.isinf(t):
        return 1.0
    theta = math.atan(t / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    if df % 2:
        total, term = 0.0, cos
        for k in range((df - 1) // 2):
            if k:
                term *= cos * cos * (2 * k) / (2 * k + 1)
            total += term
        return min(1.0, 2.0 / math.pi * (theta + sin * total))
    total, term = 0.0, 1.0
    for k in range(df // 2):
        if k:
            term *= cos * cos * (2 * k - 1) / (2 * k)
        total += term
    return min(1.0, sin * total)


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom, ``p`` in
    ``(0, 1)``; found by bisection on :func:`t_central_probability` (to 1e-12)."""
    p = check_number('p', p, 0.0, 1.0, low_open=True, high_open=True)
    df = _check_df(df)
    if p == 0.5:
        return 0.0
    central = abs(2.0 * p - 1.0)
    high = 1.0
    while t_central_probability(high, df) < central:
        high *= 2.0
    low = 0.0
    while high - low > 1e-12 * max(1.0, high):
        middle = 0.5 * (low + high)
        if t_central_probability(middle, df) < central:
            low = middle
        else:
            high = middle
    value = 0.5 * (low + high)
    return value if p > 0.5 else -value


@dataclass(frozen=True)
class PairedDifference:
    """A setting minus the baseline over the seeds both have.

    ``mean``/``sd`` are ``None`` without pairs (``sd`` also with one pair); ``low``
    and ``high`` bound the ``level`` confidence interval and ``p`` is the paired
    t-test's two-sided p-value, all ``None`` below :data:`MIN_PAIRS` pairs.
    """
    n: int
    mean: Optional[float]
    sd: Optional[float]
    low: Optional[float]
    high: Optional[float]
    verdict: str
    level: float = 0.95
    p: Optional[float] = None

    @property
    def half_width(self) -> Optional[float]:
        return None if self.low is None else 0.5 * (self.high - self.low)


def paired_difference(baseline: Mapping[int, float], other: Mapping[int, float],
                      level: float = 0.95) -> PairedDifference:
    """Compare ``other`` with ``baseline``, both ``{seed: metric}``, over their
    common seeds (differences ``other - baseline``; a positive mean is better)."""
    level = check_number('level', level, 0.0, 1.0, low_open=True, high_open=True)
    seeds = sorted(set(baseline) & set(other))
    diffs = [float(other[s]) - float(baseline[s]) for s in seeds]
    n = len(diffs)
    if n == 0:
        return PairedDifference(0, None, None, None, None, TOO_FEW, level)
    mean = statistics.fmean(diffs)
    if n < MIN_PAIRS:
        return PairedDifference(n, mean, None, None, None, TOO_FEW, level)
    sd = statistics.stdev(diffs)
    half = t_quantile(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict = BETTER if low > 0 else WORSE if high < 0 else WITHIN_NOISE
    if sd > 0:
        p = 1.0 - t_central_probability(abs(mean) * math.sqrt(n) / sd, n - 1)
    else:  # identical differences: certain, unless all are zero
        p = 0.0 if mean else 1.0
    return PairedDifference(n, mean, sd, low, high, verdict, level, p)


def holm_rejected(p_values: Sequence[Optional[float]],
                  alpha: float = 0.05) -> List[bool]:
    r"""Holm's step-down over ``m`` tests: with the p-values sorted,
    :math:`p_{(1)} \le \dots \le p_{(m)}`, reject :math:`H_{(1)}, \dots,
    H_{(k)}` for the largest :math:`k` with :math:`p_{(i)} \le \alpha / (m - i + 1)`
    for every :math:`i \le k`. The chance of rejecting any true null hypothesis
    stays at most ``alpha`` under any dependence between the tests (the comparisons
    of a grid share its baseline). ``None`` (no test) counts in neither ``m`` nor
    the result, which is ``False`` there."""
    alpha = check_number('alpha', alpha, 0.0, 1.0, low_open=True, high_open=True)
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    rejected = [False] * len(p_values)
    for rank, (p, i) in enumerate(tested):
        if p > alpha / (len(tested) - rank):
            break
        rejected[i] = True
    return rejected


def pooled_sd(differences: Sequence[PairedDifference]) -> Tuple[Optional[float], int]:
    r"""The spread of paired differences pooled over comparisons:
    :math:`s_p^2 = \sum (n_i - 1) s_i^2 / \sum (n_i - 1)`.

    Returns:
        ``(s_p, degrees of freedom)``; ``(None, 0)`` when no comparison has two
        pairs.
    """
    used = [d for d in differences if d.sd is not None]
    df = sum(d.n - 1 for d in used)
    if not df:
        return None, 0
    return math.sqrt(sum((d.n - 1) * d.sd ** 2 for d in used) / df), df


def seeds_needed(delta: float, sd: float, level: float = 0.95, power: float = 0.8,
                 max_seeds: int = 1000) -> Optional[int]:
    r"""The fewest paired seeds for which a true difference ``delta`` gives a
    ``level`` interval that excludes zero with probability ``power``: the smallest
    :math:`n \ge 2` with

    .. math::

        (t_{(1+\text{level})/2,\,n-1} + t_{\text{power},\,n-1})\,
        s / \sqrt{n} \le |\delta|

    (the usual approximation of the paired t-test's power). ``None`` when more than
    ``max_seeds`` would be needed.
    """
    delta = abs(check_number('delta', delta))
    sd = check_number('sd', sd, 0.0)
    level = check_number('level', level, 0.0, 1.0, low_open=True, high_open=True)
    power = check_number('power', power, 0.5, 1.0, high_open=True)
    if delta == 0:
        return None
    for n in range(MIN_PAIRS, max_seeds + 1):
        spread = t_quantile(0.5 + level / 2, n - 1) + t_quantile(power, n - 1)
        if spread * sd / math.sqrt(n) <= delta:
            return n
    return None
