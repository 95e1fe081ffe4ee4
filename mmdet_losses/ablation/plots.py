"""The report's figure: AP per run, the paired differences with the baseline and
their 95% intervals (when the grid has seeds), and every run's training-loss
curve."""
from typing import Dict, Sequence

# Curves with at most this many logged points get a marker on each point: a run of
# a few iterations logs one or two points, which a line alone does not show.
MARKER_POINTS = 10


def _draw_ap(axis, rows: Sequence[Dict]) -> None:
    names = [r['run'] for r in rows]
    axis.barh(names, [r['AP'] or 0.0 for r in rows], color='tab:blue', label='AP')
    axis.barh(names, [r['AP50'] or 0.0 for r in rows], color='tab:blue', alpha=0.3,
              label='AP50')
    for i, row in enumerate(rows):
        if row['state'] != 'done':
            axis.text(0.01, i, row['state'], va='center', color='tab:red')
    axis.invert_yaxis()
    axis.set_xlim(0, 1)
    axis.set_xlabel('COCO box AP (val)')
    axis.legend(loc='lower right', fontsize=8)


def _draw_differences(axis, comparisons: Sequence[Dict]) -> None:
    """One row per setting: the mean paired AP difference and its 95% interval;
    an open marker where there are too few seeds for an interval."""
    names = [e['setting'] for e in comparisons]
    for i, entry in enumerate(comparisons):
        difference = entry['AP']
        if difference.mean is None:
            axis.text(0, i, 'no paired seeds', va='center', ha='center', fontsize=7)
            continue
        colour = {'better': 'tab:green', 'worse': 'tab:red'}.get(difference.verdict,
                                                                  'tab:gray')
        if difference.low is None:
            axis.plot(difference.mean, i, 'o', mfc='none', color=colour)
        else:
            axis.errorbar(difference.mean, i,
                          xerr=[[difference.mean - difference.low],
                                [difference.high - difference.mean]],
                          fmt='o', color=colour, capsize=3)
    axis.axvline(0.0, color='black', linewidth=0.8)
    axis.set_yticks(range(len(names)), names)
    axis.set_ylim(len(names) - 0.5, -0.5)
    axis.set_xlabel(f'AP - {comparisons[0]["baseline"]} (paired by seed, 95% CI)')


def _draw_curves(axis, rows: Sequence[Dict], plt) -> None:
    # one colour per setting, one line style per seed of it
    settings = list(dict.fromkeys(r.get('setting', r['run']) for r in rows))
    colours = plt.get_cmap('tab10' if len(settings) <= 10 else 'tab20')
    seen: Dict[str, int] = {}
    for row in rows:
        setting = row.get('setting', row['run'])
        index = seen[setting] = seen.get(setting, -1) + 1
        if row['curve']:
            steps, losses = zip(*row['curve'])
            axis.plot(steps, losses, label=row['run'], linewidth=1.2,
                      color=colours(settings.index(setting) % colours.N),
                      linestyle=('-', '--', ':', '-.')[index % 4],
                      marker='o' if len(steps) <= MARKER_POINTS else None,
                      markersize=3)
    axis.set_xlabel('iteration')
    axis.set_ylabel('training loss')
    axis.set_yscale('log')
    if any(r['curve'] for r in rows):
        axis.legend(fontsize=7)


def plot(rows: Sequence[Dict], path: str, title: str = 'ablation',
         comparisons: Sequence[Dict] = ()) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = 3 if comparisons else 2
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.8))
    _draw_ap(axes[0], rows)
    if comparisons:
        _draw_differences(axes[1], comparisons)
    _draw_curves(axes[-1], rows, plt)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
