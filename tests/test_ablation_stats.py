"""Paired statistics of the ablation report (mmdet_losses_lab.ablation.stats and
.compare): the t distribution, paired intervals and verdicts, the seeds a difference
needs, and the report written from synthetic logs with known differences."""
import csv
import json
import math
import random
import subprocess
import sys

import pytest

from mmdet_losses_lab.ablation import make_grid
from mmdet_losses_lab.ablation.compare import compare_with_baseline
from mmdet_losses_lab.ablation.report import collect_results, write_report
from mmdet_losses_lab.ablation.stats import (holm_rejected, paired_difference, pooled_sd,
                                         seeds_needed, t_central_probability,
                                         t_quantile)


def test_t_distribution_closed_forms():
    # df = 1 is the Cauchy distribution: P(|T| <= 1) = 2 atan(1) / pi = 0.5
    assert t_central_probability(1.0, 1) == pytest.approx(0.5, abs=1e-12)
    # df = 2: P(|T| <= t) = t / sqrt(t^2 + 2); t = sqrt(2) -> 1 / sqrt(2)
    assert t_central_probability(math.sqrt(2), 2) == pytest.approx(0.5 ** 0.5)
    # df = 3: (2/pi)(theta + sin cos), theta = atan(t / sqrt 3); t = sqrt 3 ->
    # theta = pi/4: (2/pi)(pi/4 + 1/2) = 0.5 + 1/pi
    assert t_central_probability(math.sqrt(3), 3) == pytest.approx(0.5 + 1 / math.pi)
    # the two-sided 95% critical values of every t table
    for df, value in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 7) == 0.0
    assert t_central_probability(math.inf, 3) == 1.0


def test_t_quantile_matches_scipy():
    stats = pytest.importorskip('scipy.stats')
    for df in (*range(1, 41), 75, 200):
        for p in (0.6, 0.8, 0.9, 0.975, 0.995, 0.1):
            assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9)


def test_no_scipy_at_run_time():
    code = ('import sys; sys.modules["scipy"] = None\n'
            'from mmdet_losses_lab.ablation.stats import t_quantile\n'
            'print(round(t_quantile(0.975, 2), 4))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == '4.3027'


@pytest.mark.parametrize('call, message', [
    (lambda: t_quantile(0.975, 0), 'df must be an integer >= 1, got 0'),
    (lambda: t_quantile(1.0, 3), r'p must be in \(0.0, 1.0\), got 1.0'),
    (lambda: paired_difference({}, {}, level=95), r'level must be in \(0.0, 1.0\)'),
    (lambda: seeds_needed(0.01, -1.0), 'sd must be >= 0.0, got -1.0'),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_paired_difference_hand_values():
    base = {0: 0.50, 1: 0.60, 2: 0.55}
    # differences 0.04, 0.05, 0.06: mean 0.05, s = 0.01,
    # half-width t(0.975, 2) s / sqrt 3 = 4.3027 * 0.01 / 1.7321 = 0.02484
    better = paired_difference(base, {0: 0.54, 1: 0.65, 2: 0.61})
    assert (better.n, better.verdict) == (3, 'better')
    assert better.mean == pytest.approx(0.05) and better.sd == pytest.approx(0.01)
    assert better.half_width == pytest.approx(0.024841, abs=1e-6)
    assert better.low == pytest.approx(0.025159, abs=1e-6)
    # differences +0.034, -0.026, +0.004: mean 0.004, s = 0.03,
    # half-width 4.3027 * 0.03 / 1.7321 = 0.07452: [-0.0705, 0.0785]
    noise = paired_difference(base, {0: 0.534, 1: 0.574, 2: 0.554})
    assert noise.verdict == 'within noise'
    assert noise.mean == pytest.approx(0.004) and noise.sd == pytest.approx(0.03)
    assert (noise.low, noise.high) == pytest.approx((-0.070525, 0.078525), abs=1e-6)
    worse = paired_difference(base, {0: 0.46, 1: 0.55, 2: 0.49})
    assert worse.verdict == 'worse' and worse.mean == pytest.approx(-0.05)
    # paired on the common seeds only; one pair has no spread
    one = paired_difference(base, {2: 0.75, 9: 0.1})
    assert (one.n, one.mean, one.sd, one.low, one.verdict) == (
        1, pytest.approx(0.2), None, None, 'too few seeds')
    assert paired_difference(base, {7: 0.5}).verdict == 'too few seeds'


def test_p_values_match_the_intervals_and_holm_steps_down():
    base = {0: 0.50, 1: 0.60, 2: 0.55}
    # df 2: p = 1 - t / sqrt(t^2 + 2); differences 0.04, 0.05, 0.06 give
    # t = 0.05 / (0.01 / sqrt 3) = sqrt 75: p = 1 - sqrt(75 / 77) = 0.01307
    assert paired_difference(base, {0: 0.54, 1: 0.65, 2: 0.61}).p == pytest.approx(
        0.013072, abs=1e-6)
    # +0.034, -0.026, +0.004: t = 0.004 / (0.03 / sqrt 3) = 0.2309: p = 0.83884
    assert paired_difference(base, {0: 0.534, 1: 0.574, 2: 0.554}).p == pytest.approx(
        0.838835, abs=1e-6)
    assert paired_difference(base, {0: 0.51, 1: 0.61, 2: 0.56}).p == 0.0  # s = 0
    assert paired_difference(base, base).p == 1.0
    assert paired_difference(base, {2: 0.7}).p is None
    # the interval excludes 0 exactly when p < 0.05 (2 to 4 seeds, differences
    # 0.02 +- 0.02: 41 of the 200 grids better, 38 with p in (0.02, 0.08))
    verdicts = []
    for k in range(200):
        rng = random.Random(k)
        other = {s: 0.5 + 0.02 * rng.gauss(1, 1) for s in range(rng.choice((2, 3, 4)))}
        difference = paired_difference(dict.fromkeys(range(4), 0.5), other)
        assert (difference.p < 0.05) == (difference.verdict == 'better'), k
        verdicts.append(difference.verdict)
    assert verdicts.count('better') > 20 and verdicts.count('within noise') > 20
    # thresholds 0.05/4, 0.05/3, 0.05/2, 0.05: 0.04 > 0.025 stops the steps, and
    # 0.3 after it is not rejected either; untested comparisons count in neither
    assert holm_rejected([0.011, 0.3, 0.01, 0.04, None]) == [
        True, False, True, False, False]
    assert holm_rejected([0.001, 0.035]) == [True, True]
    assert holm_rejected([0.001, 0.035, 1.0]) == [True, False, False]
    assert holm_rejected([0.04, 0.024, 0.016]) == [True, True, True]  # each step passes
    assert holm_rejected([0.04, 0.024, 0.02]) == [False, False, False]  # 0.02 > 0.05 / 3
    assert holm_rejected([]) == []
    with pytest.raises(ValueError, match=r'alpha must be in \(0.0, 1.0\), got 5'):
        holm_rejected([0.1], alpha=5)


def test_pooled_spread_and_seeds_needed():
    a = paired_difference({0: 0, 1: 0, 2: 0}, {0: 0.01, 1: -0.01, 2: 0.0})  # s 0.01
    b = paired_difference({0: 0, 1: 0}, {0: 0.02, 1: -0.02})  # s = 0.02 * sqrt 2
    # s_p^2 = (2 * 0.01^2 + 1 * 0.0008) / 3 = 0.000333
    assert pooled_sd([a, b]) == (pytest.approx(math.sqrt(0.001 / 3)), 3)
    assert pooled_sd([paired_difference({0: 1}, {0: 2})]) == (None, 0)
    # normal approximation ((1.96 + 0.84) * 0.02 / 0.01)^2 = 31.4; with t: 34
    assert seeds_needed(0.01, 0.02) == 34
    for n, fits in ((34, True), (33, False)):
        spread = t_quantile(0.975, n - 1) + t_quantile(0.8, n - 1)
        assert (spread * 0.02 / math.sqrt(n) <= 0.01) is fits
    assert seeds_needed(0.05, 0.01) == 3
    assert seeds_needed(0.001, 0.05) is None  # more than 1000
    assert seeds_needed(0.01, 0.0) == 2


def _write_run(run_dir, ap, ap75, seed_in_log=None, classes=None):
    """``classes``: ``{name: AP}`` logged as CocoMetric(classwise=True) does."""
    folder = run_dir / '20261202_040000' / 'vis_data'
    folder.mkdir(parents=True)
    records = [{'lr': 1e-3, 'loss': 1.0, 'loss_cls': 0.5, 'loss_bbox': 0.5,
                'time': 0.3, 'iter': 20},
               {'coco/bbox_mAP': ap, 'coco/bbox_mAP_50': min(1.0, ap + 0.2),
                'coco/bbox_mAP_75': ap75, 'coco/bbox_mAP_s': ap,
                'coco/bbox_mAP_m': ap, 'coco/bbox_mAP_l': -1.0, 'step': 20,
                **{f'coco/{name}_precision': v for name, v in (classes or {}).items()}}]
    (folder / 'scalars.json').write_text('\n'.join(map(json.dumps, records)) + '\n')
    (run_dir / 'status.json').write_text(json.dumps({'state': 'done'}))


# Synthetic logs: focal_l1 is the baseline. focal_giou is 0.05 AP better on every
# seed (+- 0.004); focal_ciou differs by +0.034, -0.026, +0.004 (mean 0.004,
# spread 0.03); focal_diou is 0.05 worse.
BASE_AP = {0: 0.600, 1: 0.640, 2: 0.620}
OFFSETS = {'l1': (0.0, 0.0, 0.0), 'giou': (0.054, 0.046, 0.050),
           'ciou': (0.034, -0.026, 0.004), 'diou': (-0.05, -0.048, -0.052)}


@pytest.fixture
def synthetic_grid(tmp_path):
    runs = make_grid(['focal'], list(OFFSETS), seeds=[0, 1, 2])
    for run in runs:
        offset = OFFSETS[run.reg_name][run.seed]
        _write_run(tmp_path / run.name, BASE_AP[run.seed] + offset,
                   BASE_AP[run.seed] + 0.1 + offset)
    return runs, collect_results(runs, str(tmp_path)), tmp_path


def test_known_differences_get_their_verdicts(synthetic_grid):
    _, rows, _ = synthetic_grid
    comparisons = {c['setting']: c for c in compare_with_baseline(rows)}
    assert set(comparisons) == {'focal_giou', 'focal_ciou', 'focal_diou'}
    assert {s: c['AP'].verdict for s, c in comparisons.items()} == {
        'focal_giou': 'better', 'focal_ciou': 'within noise', 'focal_diou': 'worse'}
    assert comparisons['focal_ciou']['AP'].mean == pytest.approx(0.004)
    assert comparisons['focal_ciou']['AP'].sd == pytest.approx(0.03)
    assert comparisons['focal_giou']['AP75'].verdict == 'better'
    other = {c['setting']: c['AP'].verdict
             for c in compare_with_baseline(rows, baseline='focal_giou')}
    # ciou - giou: -0.020, -0.072, -0.046: mean -0.046 but s = 0.026, half-width
    # 4.3027 * 0.026 / sqrt 3 = 0.0646: not beyond noise
    assert other == {'focal_l1': 'worse', 'focal_ciou': 'within noise',
                     'focal_diou': 'worse'}
    with pytest.raises(ValueError, match="baseline must be one of the settings "
                       r"\['focal_l1', .*\], got 'giou'"):
        compare_with_baseline(rows, baseline='giou')


def test_report_states_the_comparison_and_ranks_no_noise(synthetic_grid):
    _, rows, work_dir = synthetic_grid
    paths = write_report(rows, str(work_dir), 'synthetic')
    text = open(paths['md'], encoding='utf-8').read()
    assert '## Compared with focal_l1, paired by seed' in text
    lines = {line.split(' | ')[0].strip('| '): line for line in text.splitlines()
             if line.startswith('| focal_')}
    # setting | seeds | dAP | AP 95% CI | AP verdict | dAP75 | AP75 95% CI | verdict
    assert lines['focal_giou'].startswith('| focal_giou | 3 | +0.050 | [+0.040, +0.060]'
                                          ' | better |')
    assert '| focal_ciou | 3 | +0.004 | [-0.071, +0.079] | within noise |' in text
    assert ('AP: better than focal_l1 beyond noise: focal_giou; worse than focal_l1 '
            'beyond noise: focal_diou; within noise of focal_l1, not ranked: '
            'focal_ciou.') in text
    # comparisons follow the grid's order, not the size of the difference
    order = [s for s in ('focal_giou', 'focal_ciou', 'focal_diou')
             if f'| {s} | 3 |' in text]
    assert order == ['focal_giou', 'focal_ciou', 'focal_diou']
    assert '## How many seeds a difference needs' in text
    # AP spread pooled over the three comparisons (df 6): giou s = 0.004,
    # ciou 0.03, diou 0.002 -> sqrt((0.004^2 + 0.03^2 + 0.002^2) * 2 / 6) = 0.0175
    seeds_line = next(line for line in text.splitlines() if line.startswith('| AP |'))
    assert seeds_line.startswith('| AP | 0.0175 (6) |')
    # giou p = 0.0021, diou p = 0.0003: both below 0.05/3; ciou p = 0.84
    assert ("AP after Holm's correction for 3 comparisons (family-wise 5%; "
            'uncorrected, as many independent comparisons of settings equal to the '
            'baseline give at least one verdict in 14% of grids): focal_giou better, '
            'focal_diou worse.') in text
    with open(paths['csv'], newline='', encoding='utf-8') as f:
        table = {row['run']: row for row in csv.DictReader(f)}
    assert float(table['focal_ciou_s1']['p_AP']) == pytest.approx(0.838835, abs=1e-6)
    assert table['focal_ciou_s1']['verdict_AP'] == 'within noise'
    assert float(table['focal_giou_s0']['d_AP']) == pytest.approx(0.05)
    assert table['focal_l1_s2']['verdict_AP'] == 'baseline'
    assert table['focal_l1_s2']['baseline'] == 'focal_l1'


def test_holm_withdraws_a_verdict_that_one_of_many_comparisons_gets(tmp_path):
    # focal_giou: +0.010, +0.020, +0.015 (t = 5.20, p = 0.035): better at 95% alone,
    # not among three comparisons (second smallest p against 0.05 / 2)
    offsets = {'l1': (0, 0, 0), 'giou': (0.01, 0.02, 0.015),
               'ciou': (0.054, 0.046, 0.050), 'diou': (0.01, -0.01, 0.0)}
    runs = make_grid(['focal'], list(offsets), seeds=[0, 1, 2])
    for run in runs:
        ap = BASE_AP[run.seed] + offsets[run.reg_name][run.seed]
        _write_run(tmp_path / run.name, ap, ap)
    rows = collect_results(runs, str(tmp_path))
    verdicts = {c['setting']: (c['AP'].verdict, round(c['AP'].p, 4))
                for c in compare_with_baseline(rows)}
    assert verdicts['focal_giou'] == ('better', 0.0351)
    assert verdicts['focal_diou'] == ('within noise', 1.0)
    text = open(write_report(rows, str(tmp_path))['md'], encoding='utf-8').read()
    assert 'AP: better than focal_l1 beyond noise: focal_giou, focal_ciou;' in text
    assert "for 3 comparisons" in text and '14% of grids): focal_ciou better.' in text
    # one comparison: nothing to correct for
    single = make_grid(['focal'], ['l1', 'giou'], seeds=[0, 1, 2])
    text = open(write_report(collect_results(single, str(tmp_path)),
                             str(tmp_path))['md'], encoding='utf-8').read()
    assert "Holm's correction" not in text


def test_one_seed_is_too_few(tmp_path):
    runs = make_grid(['focal'], ['l1', 'giou'], seeds=[0])
    for run, ap in zip(runs, (0.5, 0.6)):
        _write_run(tmp_path / run.name, ap, ap)
    rows = collect_results(runs, str(tmp_path))
    (comparison,) = compare_with_baseline(rows)
    assert comparison['AP'].verdict == 'too few seeds'
    text = open(write_report(rows, str(tmp_path))['md'], encoding='utf-8').read()
    assert '| focal_giou | 1 | +0.100 | - | too few seeds |' in text
    assert 'the run-to-run spread is unknown' in text
    # without seeds nothing is compared
    unseeded = make_grid(['focal'], ['l1', 'giou'])
    assert compare_with_baseline(collect_results(unseeded, str(tmp_path))) == []


def _imbalance_tool():
    import importlib.util
    import os.path as osp
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                    'plot_imbalance.py')
    spec = importlib.util.spec_from_file_location('plot_imbalance', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_imbalance_figure_reads_each_levels_summary(tmp_path):
    """tools/plot_imbalance.py takes per-setting AP lists and the report's paired
    differences from each level's summary.csv, skipping runs that did not finish."""
    tool = _imbalance_tool()
    levels = []
    for level, focal_gain in ((1, -0.05), (4, 0.05)):
        work_dir = tmp_path / f'level{level}'
        runs = make_grid(['ce', 'focal'], ['l1'], seeds=[0, 1, 2])
        for run in runs:
            gain = focal_gain + 0.002 * run.seed if run.cls_name == 'focal' else 0.0
            _write_run(work_dir / run.name, BASE_AP[run.seed] + gain, 0.5)
        (work_dir / 'focal_l1_s2' / 'status.json').write_text('{"state": "failed"}')
        write_report(collect_results(runs, str(work_dir)), str(work_dir))
        settings = tool.read_level(str(work_dir))
        assert settings['ce']['AP'] == pytest.approx([0.6, 0.64, 0.62])
        assert settings['focal']['AP'] == pytest.approx(
            [0.6 + focal_gain, 0.642 + focal_gain])
        assert settings['focal']['d_AP'] == pytest.approx(focal_gain + 0.001)
        assert settings['focal']['verdict_AP'] == ('worse' if focal_gain < 0
                                                   else 'better')
        levels.append(dict(anchors=1000.0 * level, settings=settings))
    out = tmp_path / 'figure.png'
    tool.plot(levels, str(out))
    assert out.stat().st_size > 10000
    with pytest.raises(FileNotFoundError, match='no summary.csv'):
        tool.read_level(str(tmp_path / 'nowhere'))
    with pytest.raises(SystemExit):
        tool.main(['configs/x.py'])


def test_gamma_alpha_sweep_is_tabulated_like_table_1b(tmp_path):
    runs = make_grid(['focal'], ['l1'], gammas=[0.0, 2.0], alphas=[0.25, 0.75],
                     seeds=[0, 1])
    # AP = 0.3 + 0.1 * gamma + 0.2 * alpha + 0.01 * seed; AP75 = AP - 0.1
    for run in runs:
        gamma, alpha = run.hyper['gamma'], run.hyper['alpha']
        ap = 0.3 + 0.1 * gamma + 0.2 * alpha + 0.01 * run.seed
        if not (gamma == 2.0 and alpha == 0.75 and run.seed == 1):
            _write_run(tmp_path / run.name, ap, ap - 0.1)
    rows = collect_results(runs, str(tmp_path))
    text = open(write_report(rows, str(tmp_path), 'sweep')['md'], encoding='utf-8').read()
    assert '## gamma x alpha' in text
    assert 'Mean over the finished runs of each cell (1 or 2 a cell).' in text
    ap_table = text.split('### AP, focal + l1: gamma down, alpha across\n')[1]
    # gamma 0: 0.3 + 0.05 + 0.005 = 0.355, 0.3 + 0.15 + 0.005 = 0.455;
    # gamma 2, alpha 0.75: seed 0 only, 0.5 + 0.15 = 0.650
    assert ap_table.splitlines()[1:5] == [
        '| gamma \\ alpha | 0.25 | 0.75 |', '|---|---|---|',
        '| 0 | 0.355 (2) | 0.455 (2) |', '| 2 | 0.555 (2) | 0.650 (1) |']
    ap75_table = text.split('### AP75, focal + l1: gamma down, alpha across\n')[1]
    assert ap75_table.splitlines()[3] == '| 0 | 0.255 (2) | 0.355 (2) |'
    # a grid sweeping one hyperparameter (or none) has no such section
    one = make_grid(['focal'], ['l1'], gammas=[0.0, 2.0], seeds=[0])
    for run in one:
        _write_run(tmp_path / 'one' / run.name, 0.5, 0.4)
    assert '## gamma' not in open(write_report(
        collect_results(one, str(tmp_path / 'one')), str(tmp_path / 'one'))['md'],
        encoding='utf-8').read()


def test_losses_with_their_own_defaults_are_no_sweep(tmp_path):
    """focal (gamma 2, alpha 0.25), VFL (alpha 0.75) and MAL (gamma 1.5, alpha None)
    differ in gamma and alpha between losses, not within one: no sweep section
    (before, the report took them for a gamma x alpha sweep and failed on MAL's
    alpha None)."""
    runs = make_grid(['focal', 'vfl', 'mal'], ['giou'], seeds=[0])
    assert {(r.loss_cls.get('gamma'), r.loss_cls.get('alpha')) for r in runs} == {
        (2.0, 0.25), (2.0, 0.75), (1.5, None)}
    for run in runs:
        _write_run(tmp_path / run.name, 0.5, 0.4)
    text = open(write_report(collect_results(runs, str(tmp_path)), str(tmp_path))['md'],
                encoding='utf-8').read()
    assert '## gamma x alpha' not in text
    assert len([line for line in text.splitlines()
                if line.startswith(('| focal_giou_s0 |', '| vfl_giou_s0 |',
                                    '| mal_giou_s0 |'))]) == 3


def test_per_class_ap_is_tabulated_and_compared(tmp_path):
    """Runs evaluated with classwise=True: each class's AP in the run and mean
    tables, and a paired comparison per class. ce is 0.1 better on WBC in every
    seed (+- 0.01) and level on RBC."""
    runs = make_grid(['focal', 'ce'], ['giou'], seeds=[0, 1, 2])
    wbc_gain = {0: 0.09, 1: 0.10, 2: 0.11}
    rbc_noise = {0: 0.02, 1: -0.03, 2: 0.01}
    for run in runs:
        ce = run.cls_name == 'ce'
        classes = {'RBC': 0.5 + (rbc_noise[run.seed] if ce else 0.0),
                   'WBC': 0.6 + (wbc_gain[run.seed] if ce else 0.0)}
        _write_run(tmp_path / run.name, 0.5, 0.5, classes=classes)
    rows = collect_results(runs, str(tmp_path))
    assert rows[0]['AP_RBC'] == 0.5 and rows[0]['AP_WBC'] == 0.6
    text = open(write_report(rows, str(tmp_path), 'classes')['md'],
                encoding='utf-8').read()
    assert '| AP_RBC | AP_WBC |' in text.splitlines()[2]
    assert '| ce_giou | 3/3 | 0.500 +- 0.000 |' in text
    assert '## Per class: AP of each class compared with focal_giou, paired by seed' \
        in text
    # WBC: +0.09, +0.10, +0.11: mean +0.100, s 0.01, half-width 4.3027 * 0.01 /
    # sqrt 3 = 0.0248. RBC: +0.02, -0.03, +0.01: mean 0, within noise.
    assert '| ce_giou | 3 | +0.000 | [-0.066, +0.066] | within noise | +0.100 | ' \
        '[+0.075, +0.125] | better |' in text
    with open(tmp_path / 'summary.csv', encoding='utf-8') as f:
        table = list(csv.DictReader(f))
    ce_row = next(r for r in table if r['run'] == 'ce_giou_s1')
    assert float(ce_row['AP_WBC']) == pytest.approx(0.7)
    assert float(ce_row['d_AP_WBC']) == pytest.approx(0.1)
    assert ce_row['verdict_AP_WBC'] == 'better'
