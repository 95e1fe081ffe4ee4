"""The report's figure: AP per run, the paired differences with the baseline and
their 95% intervals (when the grid has seeds), and every run's training-loss
curve."""
from typing import Dict, Sequence

# Curves with at most this many logged points get a marker on each point: a run of
# a few iterations logs one or two points, which a line alone does not show.
MARKER_POINTS = 10
# Line styles of the first, second, ... seed of a setting.
SEED_STYLES = ('-', '--', ':', '-.')
# A legend column holds at most this many settings.
LEGEND_ROWS = 16
# Height of one bar or difference row, inches: tick labels at fontsize 10 need it.
ROW_INCHES = 0.19


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
    """One colour per setting, one line style per seed. The legend names the
    settings and, in a second box, the seeds' line styles, so that it grows with
    the settings rather than with the runs; both sit outside the axes."""
    from matplotlib.lines import Line2D
    settings = list(dict.fromkeys(r.get('setting', r['run']) for r in rows))
    colours = plt.get_cmap('tab10' if len(settings) <= 10 else 'tab20')
    seeds = sorted({r['seed'] for r in rows if r.get('seed') is not None})
    several = len(rows) > len(settings)  # some setting has more than one run
    seen: Dict[str, int] = {}  # runs of a setting so far, for runs without a seed
    for row in rows:
        setting = row.get('setting', row['run'])
        seen[setting] = seen.get(setting, -1) + 1
        index = (0 if not several else
                 seeds.index(row['seed']) if row.get('seed') in seeds else seen[setting])
        if row['curve']:
            steps, losses = zip(*row['curve'])
            axis.plot(steps, losses, linewidth=1.2,
                      color=_colour(colours, settings.index(setting)),
                      linestyle=SEED_STYLES[index % len(SEED_STYLES)],
                      marker='o' if len(steps) <= MARKER_POINTS else None,
                      markersize=3)
    axis.set_xlabel('iteration')
    axis.set_ylabel('training loss')
    axis.set_yscale('log')
    drawn = [s for s in settings
             if any(r['curve'] for r in rows if r.get('setting', r['run']) == s)]
    if not drawn:
        return
    columns = 1 + (len(drawn) - 1) // LEGEND_ROWS
    handles = [Line2D([], [], color=_colour(colours, settings.index(s)), label=s)
               for s in drawn]
    by_setting = axis.legend(handles=handles, fontsize=7, ncol=columns,
                             loc='upper left', bbox_to_anchor=(1.01, 1.0),
                             title='setting', title_fontsize=7)
    if several and len(seeds) > 1:
        axis.add_artist(by_setting)
        # add_artist clips to the axes, and savefig's tight box would crop it there
        by_setting.set_clip_on(False)
        styles = [Line2D([], [], color='black', label=f'seed {seed}',
                         linestyle=SEED_STYLES[i % len(SEED_STYLES)])
                  for i, seed in enumerate(seeds)]
        axis.legend(handles=styles, fontsize=7, loc='lower left',
                    bbox_to_anchor=(1.01, 0.0), title='seed', title_fontsize=7)


def _colour(colours, index: int):
    return colours(index % colours.N)


def figure_size(runs: int, comparisons: int, panels: int):
    """(width, height) in inches: the height grows with the rows of the bar and
    difference panels so that their labels do not overlap."""
    return 6.5 * panels, max(4.8, 1.4 + ROW_INCHES * max(runs, comparisons))


def plot(rows: Sequence[Dict], path: str, title: str = 'ablation',
         comparisons: Sequence[Dict] = ()) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    panels = 3 if comparisons else 2
    fig, axes = plt.subplots(1, panels,
                             figsize=figure_size(len(rows), len(comparisons), panels))
    _draw_ap(axes[0], rows)
    if comparisons:
        _draw_differences(axes[1], comparisons)
    _draw_curves(axes[-1], rows, plt)
    fig.suptitle(title)
    fig.tight_layout()
    # 'tight' takes in the legends outside the last panel
    fig.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(fig)
