"""The paired comparison of an ablation report: every setting against the
baseline, seed by seed (:mod:`mmdet_losses_lab.ablation.stats`), as table rows, CSV
columns and markdown, and how many seeds a difference of a given size needs."""
from typing import Dict, List, Optional, Sequence, Tuple

from .stats import (BETTER, TOO_FEW, WITHIN_NOISE, WORSE, holm_rejected,
                    paired_difference, pooled_sd, seeds_needed, t_quantile)

# The metrics every setting is compared with the baseline on.
COMPARED = ('AP', 'AP75')


def comparison_column_names(metrics: Sequence[str] = COMPARED) -> Tuple[str, ...]:
    """The CSV columns of the comparison of ``metrics`` with the baseline."""
    return ('baseline', *(f'{prefix}{m}' for m in metrics for prefix in
                          ('d_', 'd_low_', 'd_high_', 'p_', 'verdict_')))


COMPARISON_COLUMNS = comparison_column_names()


def group_by_setting(rows: Sequence[Dict]) -> Dict[str, List[Dict]]:
    """``{setting: its rows}`` in the grid's order."""
    settings: Dict[str, List[Dict]] = {}
    for row in rows:
        settings.setdefault(row.get('setting', row['run']), []).append(row)
    return settings


def _by_seed(members: Sequence[Dict], metric: str) -> Dict[int, float]:
    """``{seed: value}`` of the finished runs trained with an explicit seed."""
    return {r['seed']: r[metric] for r in members
            if r.get('seeded') and r['state'] == 'done' and r[metric] is not None}


def compare_with_baseline(rows: Sequence[Dict],
                          baseline: Optional[str] = None,
                          metrics: Sequence[str] = COMPARED) -> List[Dict]:
    """Every setting against ``baseline`` (default: the first setting), paired by
    seed: ``{'setting', 'baseline', 'AP': PairedDifference, 'AP75': ...}`` (one
    entry per name of ``metrics``) in the grid's order; empty when the runs have no
    explicit seeds or one setting only."""
    settings = group_by_setting(rows)
    if len(settings) < 2 or not any(r.get('seeded') for r in rows):
        return []
    baseline = next(iter(settings)) if baseline is None else baseline
    if baseline not in settings:
        raise ValueError(f'baseline must be one of the settings {list(settings)}, '
                         f'got {baseline!r}')
    comparisons = []
    for setting, members in settings.items():
        if setting == baseline:
            continue
        entry = {'setting': setting, 'baseline': baseline}
        for metric in metrics:
            entry[metric] = paired_difference(_by_seed(settings[baseline], metric),
                                              _by_seed(members, metric))
        comparisons.append(entry)
    return comparisons


def _signed(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:+.3f}'


def _interval(difference) -> str:
    if difference.low is None:
        return '-'
    return f'[{difference.low:+.3f}, {difference.high:+.3f}]'


def comparison_markdown(comparisons: Sequence[Dict],
                        metrics: Sequence[str] = COMPARED,
                        heading: str = 'Compared with {baseline}, paired by seed') -> str:
    """The paired table of ``metrics``, a plain-words line on the first of them that
    ranks nothing inside the noise and, with several comparisons, the verdicts that
    survive Holm's correction."""
    if not comparisons:
        return ''
    baseline = comparisons[0]['baseline']
    first = metrics[0]
    lines = [f'## {heading.format(baseline=baseline)}\n',
             'Mean difference (setting - baseline) over the seeds both have, its 95% '
             "confidence interval (Student's t over the paired differences) and the "
             'verdict: better or worse when the interval excludes 0, within noise '
             'otherwise; too few seeds below 2 pairs.\n']
    header = ['setting', 'seeds']
    for metric in metrics:
        header += [f'd{metric}', f'{metric} 95% CI', f'{metric} verdict']
    lines += ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for entry in comparisons:
        cells = [entry['setting'], str(entry[first].n)]
        for metric in metrics:
            difference = entry[metric]
            cells += [_signed(difference.mean), _interval(difference),
                      difference.verdict]
        lines.append('| ' + ' | '.join(cells) + ' |')
    verdicts = {v: [e['setting'] for e in comparisons if e[first].verdict == v]
                for v in (BETTER, WORSE, WITHIN_NOISE, TOO_FEW)}
    words = {BETTER: f'better than {baseline} beyond noise',
             WORSE: f'worse than {baseline} beyond noise',
             WITHIN_NOISE: f'within noise of {baseline}, not ranked',
             TOO_FEW: 'too few paired seeds to tell'}
    summary = [f'{words[v]}: {", ".join(names)}' for v, names in verdicts.items()
               if names]
    lines += ['', f'{first}: ' + '; '.join(summary) + '.']
    for line in holm_lines(comparisons, metrics=metrics):
        lines += ['', line]
    if any(e[first].n == 2 for e in comparisons):
        lines += ['', 'With 2 seeds t = 12.7: the intervals are wide; 3 or more seeds '
                  'narrow them markedly (t = 4.30 at 3, 2.78 at 5).']
    return '\n'.join(lines) + '\n'


def holm_lines(comparisons: Sequence[Dict], alpha: float = 0.05,
               metrics: Sequence[str] = COMPARED) -> List[str]:
    """With several comparisons, the verdicts that survive Holm's correction for
    their number (each metric its own family): at 95% each, ``m`` independent
    comparisons of settings that equal the baseline still call one better or worse
    in :math:`1 - 0.95^m` of grids (37% at 9)."""
    lines = []
    for metric in metrics:
        tested = [e for e in comparisons if e[metric].p is not None]
        if len(tested) < 2:
            continue
        kept = [e for e, keep in zip(tested, holm_rejected([e[metric].p for e in tested],
                                                           alpha)) if keep]
        named = [f'{e["setting"]} {e[metric].verdict}' for e in kept]
        lines.append(
            f'{metric} after Holm\'s correction for {len(tested)} comparisons '
            f'(family-wise {alpha:.0%}; uncorrected, as many independent comparisons '
            f'of settings equal to the baseline give at least one verdict in '
            f'{1 - (1 - alpha) ** len(tested):.0%} of grids): '
            f'{", ".join(named) if named else "no difference beyond noise"}.')
    return lines


def comparison_columns(rows: Sequence[Dict], comparisons: Sequence[Dict],
                       metrics: Sequence[str] = COMPARED) -> List[Dict]:
    """``rows`` with the comparison of each run's setting in the columns of
    :func:`comparison_column_names` (the baseline's own runs: verdict
    ``baseline``)."""
    by_setting = {e['setting']: e for e in comparisons}
    baseline = comparisons[0]['baseline'] if comparisons else None
    table = []
    for row in rows:
        row = dict(row, baseline=baseline)
        entry = by_setting.get(row.get('setting'))
        for metric in metrics:
            difference = entry[metric] if entry else None
            row[f'd_{metric}'] = difference and difference.mean
            row[f'd_low_{metric}'] = difference and difference.low
            row[f'd_high_{metric}'] = difference and difference.high
            row[f'p_{metric}'] = difference and difference.p
            row[f'verdict_{metric}'] = (
                difference.verdict if difference else
                'baseline' if baseline and row.get('setting') == baseline else None)
        table.append(row)
    return table


# True differences the seeds section sizes, in AP.
SIZES = (0.005, 0.01, 0.02, 0.05)


def seeds_markdown(comparisons: Sequence[Dict], sizes: Sequence[float] = SIZES,
                   power: float = 0.8) -> str:
    """A short section: the pooled spread of the paired differences and, from it,
    how many seeds a true difference of each size needs to come out beyond noise."""
    lines = ['## How many seeds a difference needs\n']
    spreads = {m: pooled_sd([e[m] for e in comparisons]) for m in COMPARED}
    if all(sd is None for sd, _ in spreads.values()):
        lines.append('No setting shares two finished seeds with the baseline: the '
                     'run-to-run spread is unknown.')
        return '\n'.join(lines) + '\n'
    header = ['metric', 'spread s of the paired differences (df)',
              *(f'seeds for {size:g}' for size in sizes), 'resolved now']
    lines += [f'Seeds per setting for a true difference of the given size to come '
              f'out beyond noise (95% interval excluding 0) in {power:.0%} of grids, '
              'from the spread measured here, pooled over the comparisons; '
              '"resolved now": the interval half-width t s / sqrt(n) at the seeds '
              'used, below which a difference is not told from noise.\n',
              '| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for metric, (sd, df) in spreads.items():
        if sd is None:
            continue
        needed = [seeds_needed(size, sd, power=power) for size in sizes]
        counts = sorted({e[metric].n for e in comparisons if e[metric].sd is not None})
        resolved = ', '.join(
            f'{t_quantile(0.975, n - 1) * sd / n ** 0.5:.3f} at {n} seeds'
            for n in counts)
        cells = [metric, f'{sd:.4f} ({df})',
                 *('> 1000' if n is None else str(n) for n in needed), resolved]
        lines.append('| ' + ' | '.join(cells) + ' |')
    fewest = min(df for sd, df in spreads.values() if sd is not None)
    if fewest < 5:
        lines.append(f'\nThe spread rests on {fewest} degree(s) of freedom and is '
                     'itself uncertain: take these counts as rough.')
    return '\n'.join(lines) + '\n'
