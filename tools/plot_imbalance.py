r"""AP against anchors per object: the imbalance sweep's figure.

One ``CONFIG=WORK_DIR`` pair per imbalance level: the level's shapes config (its
anchors per object are counted from the config's anchor generator, assigner and
training annotations, :func:`mmdet_losses_lab.data.imbalance.anchor_statistics`) and the
work dir of its ablation grid (its ``summary.csv``). Left: the mean AP of each
category loss over its seeds, with the seeds' standard deviation as bars. Right:
each loss's mean AP difference with the grid's baseline, paired by seed, with its
95% interval (Student's t) as the report computed it.

    python tools/plot_imbalance.py \
        configs/shapes/retinanet_r18_fpn_1xb4-1000i_shapes-imb1.py=work_dirs/ablation_imbalance_1 \
        ... --out docs/figures/ablation_imbalance.png
"""
import argparse
import csv
import os
import os.path as osp
import statistics
import sys
from typing import Dict, List, Optional, Sequence

if __package__ in (None, ''):
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmdet_losses_lab.training.quiet import quiet_warnings  # noqa: E402


def read_level(work_dir: str) -> Dict[str, Dict]:
    """``{cls: {'AP': [...], 'd_AP': ..., 'd_low_AP': ..., 'd_high_AP': ...,
    'verdict_AP': ...}}`` from the done runs of one grid's ``summary.csv``."""
    path = osp.join(work_dir, 'summary.csv')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{work_dir}: no summary.csv (run tools/ablation.py '
                                'on it first, or --report-only)')
    settings: Dict[str, Dict] = {}
    with open(path, newline='', encoding='utf-8') as f:
        for row in csv.DictReader(f):
            if row['state'] != 'done' or not row['AP']:
                continue
            entry = settings.setdefault(row['cls'], {'AP': []})
            entry['AP'].append(float(row['AP']))
            for key in ('d_AP', 'd_low_AP', 'd_high_AP'):
                entry[key] = float(row[key]) if row.get(key) else None
            entry['verdict_AP'] = row.get('verdict_AP', '')
    return settings


def plot(levels: Sequence[Dict], path: str, title: Optional[str] = None) -> None:
    """``levels``: ``{'anchors': float, 'settings': read_level(...)}``, any order."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    levels = sorted(levels, key=lambda level: level['anchors'])
    names: List[str] = []
    for level in levels:
        names += [n for n in level['settings'] if n not in names]
    fig, (ap_axis, diff_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, name in enumerate(names):
        colour = f'C{k}'
        xs, means, stds, dx, dmean, dlow, dhigh = [], [], [], [], [], [], []
        for level in levels:
            entry = level['settings'].get(name)
            if entry is None:
                continue
            aps = entry['AP']
            xs.append(level['anchors'])
            means.append(statistics.fmean(aps))
            stds.append(statistics.stdev(aps) if len(aps) > 1 else 0.0)
            if entry.get('d_AP') is not None:
                dx.append(level['anchors'])
                dmean.append(entry['d_AP'])
                dlow.append(entry['d_low_AP'] if entry['d_low_AP'] is not None
                            else entry['d_AP'])
                dhigh.append(entry['d_high_AP'] if entry['d_high_AP'] is not None
                             else entry['d_AP'])
        ap_axis.errorbar(xs, means, yerr=stds, marker='o', capsize=3, color=colour,
                         label=name)
        if dx:
            shift = [x * (1 + 0.04 * (k - (len(names) - 1) / 2)) for x in dx]
            diff_axis.errorbar(shift, dmean,
                               yerr=[[m - lo for m, lo in zip(dmean, dlow)],
                                     [hi - m for m, hi in zip(dmean, dhigh)]],
                               marker='o', capsize=3, color=colour, label=name)
    ticks = sorted({level['anchors'] for level in levels})
    for axis in (ap_axis, diff_axis):
        axis.set_xscale('log')
        # one labelled tick per level, no crowded minor labels of the log axis
        axis.set_xticks(ticks, [f'{t:,.0f}' for t in ticks])
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_xlabel('anchors per object (log scale)')
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    ap_axis.set_ylabel('COCO box AP (val): mean, bars = std over seeds')
    diff_axis.axhline(0, color='k', lw=0.8)
    diff_axis.set_ylabel('AP difference with the baseline, paired by seed\n'
                         '(bars: 95% interval)')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('levels', nargs='+', metavar='CONFIG=WORK_DIR')
    parser.add_argument('--out', default='work_dirs/ablation_imbalance.png')
    parser.add_argument('--num-images', type=int, default=200,
                        help='training images counted per level (default 200; 0: all)')
    parser.add_argument('--title', default='Imbalance sweep on the shapes data')
    args = parser.parse_args(argv)
    quiet_warnings()
    from mmdet_losses_lab.data.imbalance import anchor_statistics
    levels = []
    for item in args.levels:
        config, sep, work_dir = item.partition('=')
        if not sep or not config or not work_dir:
            parser.error(f'a level must be CONFIG=WORK_DIR, got {item!r}')
        anchors = anchor_statistics(config, args.num_images)['anchors per object']
        levels.append(dict(anchors=anchors, settings=read_level(work_dir)))
        print(f'{config}: {anchors:,.0f} anchors per object')
    plot(levels, args.out, args.title)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
