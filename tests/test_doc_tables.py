"""Tables in docs/ generated from the grids' summaries
(mmdet_losses_lab.ablation.doc_tables, tools/docs_tables.py): hand-checked cells on a
small summary, a stale page rewritten, and the repository's pages up to date."""
import csv
import os.path as osp
import subprocess
import sys

import pytest

from mmdet_losses_lab.ablation.doc_tables import (cell, read_summary, render,
                                                  render_page)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FIELDS = ('run', 'cls', 'reg', 'seed', 'state', 'AP', 'AP75', 'baseline')
# giou - l1 per seed: +0.05, +0.04, +0.06 (mean 0.05, s 0.01, half-width
# 4.3027 * 0.01 / sqrt 3 = 0.0248); ciou - l1: +0.03, -0.03, 0.00 (mean 0, s 0.03).
AP = {'l1': (0.60, 0.64, 0.62), 'giou': (0.65, 0.68, 0.68), 'ciou': (0.63, 0.61, 0.62)}


@pytest.fixture
def summary(tmp_path):
    path = tmp_path / 'results' / 'grid' / 'summary.csv'
    path.parent.mkdir(parents=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for reg, values in AP.items():
            for seed, ap in enumerate(values):
                writer.writerow(dict(run=f'focal_{reg}_s{seed}', cls='focal', reg=reg,
                                     seed=seed, state='done', AP=ap, AP75=ap - 0.1,
                                     baseline='focal_l1'))
        writer.writerow(dict(run='focal_diou_s0', cls='focal', reg='diou', seed=0,
                             state='failed', baseline='focal_l1'))
    return tmp_path


def test_cells_by_hand(summary):
    rows = read_summary(str(summary / 'results/grid/summary.csv'))
    assert rows[0]['setting'] == 'focal_l1'
    assert cell(rows, 'focal_giou', 'AP seeds', '') == '0.650 / 0.680 / 0.680'
    assert cell(rows, 'focal_giou', 'AP mean', '') == '0.670'
    assert cell(rows, 'focal_l1', 'AP mean+-sd', '') == '0.620 +- 0.020'
    assert cell(rows, 'focal_l1', 'AP vs baseline', '') == 'baseline'
    assert cell(rows, 'focal_giou', 'AP vs baseline', '') == \
        '+0.050 [+0.025, +0.075], p 0.013: better'
    assert cell(rows, 'x', 'AP focal_ciou - focal_l1', '') == \
        '+0.000 [-0.075, +0.075], p 1.00: within noise'
    assert cell(rows, 'x', 'AP75 seeds of focal_ciou', '') == '0.530 / 0.510 / 0.520'
    assert cell(rows, 'focal_diou', 'AP mean', '') == '-'  # failed: no value
    with pytest.raises(ValueError, match="no column 'APx'"):
        cell(rows, 'focal_l1', 'APx mean', '')


def test_render_and_a_stale_page(summary):
    spec = ('source: results/grid/summary.csv\nrows: reg\nlabel: l1 = L1\n'
            'loss = label\nmean AP = AP mean\ndAP = AP vs baseline')
    table = render(spec, str(summary))
    assert table.splitlines() == [
        '| loss | mean AP | dAP |', '|---|---|---|', '| L1 | 0.620 | baseline |',
        '| giou | 0.670 | +0.050 [+0.025, +0.075], p 0.013: better |',
        '| ciou | 0.620 | +0.000 [-0.075, +0.075], p 1.00: within noise |',
        '| diou | - | no paired seeds |']
    page = ('# Page\n\nText.\n\n<!-- table\n' + spec + '\n-->\n| old | table |\n'
            '|---|---|\n| 1 | 2 |\n\nAfter.\n')
    new = render_page(page, str(summary))
    assert new.startswith('# Page\n\nText.\n\n<!-- table\n')
    assert '| old |' not in new and new.endswith('\n\nAfter.\n')
    assert render_page(new, str(summary)) == new  # up to date: unchanged
    with pytest.raises(ValueError, match='neither an option nor'):
        render('source: results/grid/summary.csv\nnot a column', str(summary))


def test_the_docs_tables_are_up_to_date():
    """Every generated table in docs/ equals what its summary gives."""
    result = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'docs_tables.py'),
                             '--check'], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(osp.join(ROOT, 'docs', 'ablation_localisation.md')) as f:
        assert f.read().count('<!-- table') == 3
