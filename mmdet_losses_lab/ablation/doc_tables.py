r"""Tables in the docs generated from the grids' summaries, not typed.

A markdown page marks each generated table with a comment that says what it shows;
:func:`render_page` rewrites the table below every such comment, up to the next
blank line::

    <!-- table
    source: results/ablation_localisation/summary.csv
    rows: reg
    loss = label
    AP s0 / s1 / s2 = AP seeds
    mean AP = AP mean
    dAP vs IoU [95% CI], p = AP vs baseline
    -->
    | loss | AP s0 / s1 / s2 | mean AP | dAP vs IoU [95% CI], p |
    |---|---|---|---|
    ...

Lines of the comment:

* ``source: PATH``: a grid's ``summary.csv`` (from the repository root); ``{row}``
  in the path is replaced by each row's value when ``rows`` lists sources.
* ``rows: FIELD``: one row per setting, labelled by that column of the summary
  (``reg``, ``cls``, ``setting``); ``rows: run``: one row per run; or ``rows: LABEL = VALUE, VALUE, ...``: one row per
  source, ``{row}`` taking each value, labelled ``LABEL`` (``label`` below).
* ``label: VALUE = TEXT; ...``: labels to print instead of the row values.
* ``HEADER = EXPRESSION``, one per column, where EXPRESSION is

  - ``label``: the row's label;
  - ``M seeds [of S]``: metric ``M`` of every seed, ``0.230 / 0.199 / 0.223``;
  - ``M mean [of S]``, ``M mean+-sd [of S]``: over the finished runs;
  - ``M vs baseline``: the paired difference from the grid's baseline,
    ``+0.017 [-0.013, +0.047], p 0.14: within noise`` (``baseline`` on its own row);
  - ``M A - B``: the paired difference of settings ``A`` and ``B``;
  - ``M sweep G x A``: (its own table kind) metric ``M`` with ``G`` down and ``A``
    across, the mean of each cell, row and column means, the best cell in bold.

``S``, ``A`` and ``B`` are settings (run names without ``_s<seed>``); without
``of S`` the row's setting. ``tools/docs_tables.py`` writes the pages;
``--check`` fails when one is out of date (a test runs it).
"""
import csv
import os.path as osp
import re
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from .stats import paired_difference

MARK = re.compile(r'<!-- table\n(.*?)\n-->\n', re.S)


def read_summary(path: str) -> List[Dict]:
    """The rows of a grid's ``summary.csv``, with ``setting`` (the run name
    without ``_s<seed>``) and the metrics as floats."""
    with open(path, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        suffix = f"_s{row['seed']}"
        row['setting'] = row['run'][:-len(suffix)] \
            if row['seed'] and row['run'].endswith(suffix) else row['run']
    return rows


def _value(row: Dict, metric: str) -> Optional[float]:
    text = row.get(metric, '')
    return float(text) if text not in ('', None) else None


def _by_seed(rows: Sequence[Dict], setting: str, metric: str) -> Dict[int, float]:
    return {int(r['seed']): _value(r, metric) for r in rows
            if r['setting'] == setting and r['state'] == 'done'
            and _value(r, metric) is not None and r['seed'] not in ('', None)}


def _p(p: Optional[float]) -> str:
    if p is None:
        return ''
    if p < 0.001:
        return ', p < 0.001'
    return f', p {p:.2f}' if p >= 0.1 else f', p {p:.2g}'


def format_difference(difference) -> str:
    """``+0.017 [-0.013, +0.047], p 0.14: within noise``."""
    if difference.mean is None:
        return 'no paired seeds'
    if difference.low is None:
        return f'{difference.mean:+.3f} ({difference.verdict})'
    return (f'{difference.mean:+.3f} [{difference.low:+.3f}, {difference.high:+.3f}]'
            f'{_p(difference.p)}: {difference.verdict}')


def cell(rows: Sequence[Dict], setting: str, expression: str, label: str) -> str:
    """One cell: ``expression`` (see the module doc) for ``setting``."""
    words = expression.split()
    if words == ['label']:
        return label
    metric, kind, rest = words[0], words[1] if len(words) > 1 else '', words[2:]
    if kind == 'vs' and rest == ['baseline']:
        baseline = next((r['baseline'] for r in rows if r.get('baseline')), None)
        if baseline is None:
            raise ValueError('the summary has no baseline column to compare with')
        if setting == baseline:
            return 'baseline'
        return format_difference(paired_difference(
            _by_seed(rows, baseline, metric), _by_seed(rows, setting, metric)))
    if len(words) == 4 and words[2] == '-':
        first, second = words[1], words[3]
        return format_difference(paired_difference(
            _by_seed(rows, second, metric), _by_seed(rows, first, metric)))
    if rest[:1] == ['of']:
        setting = rest[1]
    if metric not in rows[0]:
        raise ValueError(f'the summary has no column {metric!r}')
    values = _by_seed(rows, setting, metric)
    if not values:
        return '-'  # no finished run
    ordered = [values[seed] for seed in sorted(values)]
    if kind == 'seeds':
        return ' / '.join(f'{v:.3f}' for v in ordered)
    if kind == 'mean':
        return f'{statistics.fmean(ordered):.3f}'
    if kind == 'mean+-sd':
        spread = statistics.stdev(ordered) if len(ordered) > 1 else 0.0
        return f'{statistics.fmean(ordered):.3f} +- {spread:.3f}'
    if kind in ('', 'of'):
        if len(ordered) != 1:
            raise ValueError(f'{setting!r} has {len(ordered)} runs: say seeds or mean')
        return f'{ordered[0]:.3f}'
    raise ValueError(f'unknown table expression {expression!r}')


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(r) + ' |' for r in body]
    return '\n'.join(lines) + '\n'


def sweep_table(rows: Sequence[Dict], metric: str, down: str, across: str) -> str:
    """``metric`` with ``down`` values as rows and ``across`` as columns: the mean
    over each cell's runs, row and column means, the best cell in bold."""
    done = [r for r in rows if r['state'] == 'done' and _value(r, metric) is not None]
    downs = sorted({float(r[down]) for r in done})
    acrosses = sorted({float(r[across]) for r in done})
    cells = {(d, a): statistics.fmean(_value(r, metric) for r in done
                                      if float(r[down]) == d and float(r[across]) == a)
             for d in downs for a in acrosses}
    best = max(cells.values())
    body = []
    for d in downs:
        values = [cells[d, a] for a in acrosses]
        body.append([f'{d:g}', *(f'**{v:.3f}**' if v == best else f'{v:.3f}'
                                 for v in values), f'{statistics.fmean(values):.3f}'])
    body.append(['column mean', *(f'{statistics.fmean(cells[d, a] for d in downs):.3f}'
                                  for a in acrosses), ''])
    return _table([f'{down} \\ {across}', *(f'{a:g}' for a in acrosses), 'row mean'],
                  body)


def parse_spec(text: str) -> Tuple[Dict[str, str], List[Tuple[str, str]]]:
    """``({'source', 'rows', 'label'}, [(header, expression), ...])``."""
    options, columns = {}, []
    for line in text.strip().splitlines():
        key, sep, value = line.partition(':')
        if sep and key.strip() in ('source', 'rows', 'label') and '=' not in key:
            options[key.strip()] = value.strip()
            continue
        header, sep, expression = line.rpartition(' = ')
        if not sep:
            raise ValueError(f'table line {line!r} is neither an option nor '
                             'HEADER = EXPRESSION')
        columns.append((header.strip(), expression.strip()))
    if 'source' not in options:
        raise ValueError('a table needs a source: line')
    return options, columns


def render(spec: str, root: str) -> str:
    """The markdown table a ``<!-- table ... -->`` comment asks for."""
    options, columns = parse_spec(spec)
    labels = {}
    for pair in filter(None, (p.strip() for p in options.get('label', '').split(';'))):
        value, _, text = pair.partition('=')
        labels[value.strip()] = text.strip()
    if len(columns) == 1 and ' sweep ' in columns[0][1]:
        metric, _, down, _, across = columns[0][1].split()
        return sweep_table(read_summary(osp.join(root, options['source'])), metric,
                           down, across)
    rows_spec = options.get('rows', 'setting')
    body = []
    if rows_spec == 'run':  # one row per run: its own values
        rows = read_summary(osp.join(root, options['source']))
        for row in rows:
            body.append([cell([row], row['setting'], expression,
                              labels.get(row['run'], row['run']))
                         for _, expression in columns])
    elif '=' in rows_spec:  # one row per source
        _, values = rows_spec.split('=', 1)
        for value in (v.strip() for v in values.split(',')):
            rows = read_summary(osp.join(root, options['source'].format(row=value)))
            body.append([cell(rows, '', expression, labels.get(value, value))
                         for _, expression in columns])
    else:
        rows = read_summary(osp.join(root, options['source']))
        for setting in dict.fromkeys(r['setting'] for r in rows):
            first = next(r for r in rows if r['setting'] == setting)
            label = first.get(rows_spec, setting)
            body.append([cell(rows, setting, expression, labels.get(label, label))
                         for _, expression in columns])
    return _table([header for header, _ in columns], body)


def render_page(text: str, root: str) -> str:
    """``text`` with the table after every ``<!-- table ... -->`` comment
    regenerated (the old table runs to the next blank line)."""
    out, position = [], 0
    for found in MARK.finditer(text):
        out.append(text[position:found.end()])
        rest = text[found.end():]
        old = re.match(r'(?:\|[^\n]*\n)*', rest).group(0)
        out.append(render(found.group(1), root))
        position = found.end() + len(old)
    out.append(text[position:])
    return ''.join(out)
