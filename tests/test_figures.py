"""The figure tools: the regression simulation of Zheng et al. (tools/
simulate_regression.py) at small size, and the loss curves (tools/
plot_loss_curves.py): values against closed forms, and the PNGs they write."""
import importlib.util
import math
import os.path as osp
import sys

import pytest
import torch

from mmdet_losses.losses import SPECS
from mmdet_losses.spec import CLASS_SCORES, DISTRIBUTIONS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOCS = osp.join(ROOT, 'docs')
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
MAX_FIGURE_BYTES = 300 * 1024
PER_LOSS_MAX_BYTES = 60 * 1024
# docs/losses/<page>.md of every registered loss class (its spec's page)
LOSS_PAGES = {name: spec.page for name, spec in SPECS.items()}
# pages whose figure tools/plot_category_curves.py draws (tests/test_category_figures.py):
# the category, quality and distribution losses' but cross-entropy's and focal's
CATEGORY_PAGES = {name: page for name, page in LOSS_PAGES.items()
                  if SPECS[name].compares in (CLASS_SCORES, DISTRIBUTIONS)
                  and page not in ('cross_entropy', 'focal')}
CURVE_TOOL_PAGES = {name: page for name, page in LOSS_PAGES.items()
                    if name not in CATEGORY_PAGES}
# figures of docs/losses/ pages that are not one class's
EXTRA_PAGES = {'iou_modifiers'}


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'tools_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def sim():
    return load_tool('simulate_regression')


@pytest.fixture(scope='module')
def curves():
    return load_tool('plot_loss_curves')


@pytest.fixture(scope='module')
def eager():
    # Compiling each loss would cost more than the small simulations themselves.
    from mmdet_losses.functional import get_compile, set_compile
    previous = get_compile()
    set_compile(False)
    yield
    set_compile({'on': True, 'off': False}.get(previous, 'auto'))


@pytest.fixture(scope='module')
def small_run(sim, eager):
    # 50 anchor centres x 343 = 17,150 cases, the paper's 200 steps.
    return sim.simulate(points=50, steps=200, losses=('iou', 'giou', 'diou', 'ciou'),
                        chunk=4096, workers=2)


def assert_png(path, max_bytes=MAX_FIGURE_BYTES):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE
    assert 10 * 1024 < len(data) < max_bytes
    import matplotlib.image
    height, width = matplotlib.image.imread(path).shape[:2]
    assert height >= 200 and width >= 400


# ----------------------------------------------------------------- simulation


def test_cases_follow_the_paper(sim):
    centres, anchors, targets = sim.make_cases(3, seed=0)
    assert centres.shape == (3, 2)
    assert anchors.shape == targets.shape == (3 * 343, 4)
    assert 5000 * sim.CASES_PER_POINT == 1_715_000
    # every anchor centre lies in the disc of radius 3 around (10, 10)
    assert float((centres - 10).norm(dim=1).max()) <= 3
    torch.testing.assert_close(anchors[:, :2], centres.repeat_interleave(343, 0))
    # targets: centred at (10, 10), area 1, aspect ratios 1:4 ... 4:1
    assert torch.all(targets[:, :2] == 10)
    torch.testing.assert_close(targets[:, 2] * targets[:, 3], torch.ones(3 * 343))
    ratios = torch.tensor(sim.ASPECT_RATIOS)
    assert torch.allclose((targets[:, 2] / targets[:, 3]).unique(), ratios,
                          rtol=1e-5)
    # anchors: 7 scales x 7 aspect ratios against each target
    areas = (anchors[:, 2] * anchors[:, 3]).view(3, 7, 7, 7)
    torch.testing.assert_close(areas[0, 0, :, 0], torch.tensor(sim.SCALES))
    torch.testing.assert_close((anchors[:, 2] / anchors[:, 3]).view(3, 7, 7, 7)
                               [0, 0, 0], ratios)


def test_cases_are_deterministic(sim):
    first, second = sim.make_cases(4, seed=7), sim.make_cases(4, seed=7)
    for a, b in zip(first, second):
        assert torch.equal(a, b)
    assert not torch.equal(first[0], sim.make_cases(4, seed=8)[0])


def test_step_sizes_follow_algorithm_1(sim):
    etas = sim.step_sizes(200)
    assert etas[:160] == [0.1] * 160
    assert etas[160:180] == [0.01] * 20
    assert etas[180:] == [0.001] * 20


def test_unknown_loss_is_refused(sim, eager):
    with pytest.raises(ValueError, match='bogus'):
        sim.simulate(points=1, steps=1, losses=('giou', 'bogus'))


def test_result_does_not_depend_on_chunks_or_workers(sim, eager):
    one = sim.simulate(points=3, steps=10, losses=('giou', ), workers=1)
    two = sim.simulate(points=3, steps=10, losses=('giou', ), chunk=100, workers=2)
    assert torch.equal(one.final_errors['giou'], two.final_errors['giou'])
    torch.testing.assert_close(one.curves['giou'], two.curves['giou'], rtol=1e-12,
                               atol=0)


def test_error_bookkeeping(sim, small_run):
    _, anchors, targets = sim.make_cases(50, seed=0)
    initial = float((anchors - targets).abs().sum())
    for name, curve in small_run.curves.items():
        assert curve.shape == (201, )
        assert math.isclose(float(curve[0]), initial, rel_tol=1e-6)
        total = float(small_run.final_errors[name].sum())
        assert math.isclose(float(curve[-1]), total, rel_tol=1e-5)
        assert math.isclose(float(small_run.point_errors(name).sum()), total,
                            rel_tol=1e-5)


def test_iou_loss_stalls_on_disjoint_cases(small_run, sim):
    # Linear IoU loss has an exactly zero gradient while the boxes do not overlap,
    # so those cases keep their initial error; DIoU moves every one of them.
    _, anchors, targets = sim.make_cases(50, seed=0)
    disjoint = small_run.initial_iou == 0
    # boxes of area 0.5 to 2 overlap the target only for centres within about 1
    # of (10, 10), a small part of the disc of radius 3: most cases are disjoint
    assert 0.75 < float(disjoint.double().mean()) < 0.95
    initial = (anchors - targets).abs().sum(1)
    torch.testing.assert_close(small_run.final_errors['iou'][disjoint],
                               initial[disjoint])
    assert torch.all(small_run.final_errors['diou'][disjoint] <
                     initial[disjoint])


def test_final_error_ordering(small_run):
    final = {name: float(curve[-1]) for name, curve in small_run.curves.items()}
    # IoU loss is worst by far: it never moves the disjoint cases.
    for name in ('giou', 'diou', 'ciou'):
        assert final['iou'] > 20 * final[name]
    # CIoU is best of the paper's four losses.
    assert final['ciou'] < final['diou']
    assert final['ciou'] < final['giou']
    # The paper also finds DIoU below GIoU; with the exact (autograd) gradient of
    # the losses it is not (docs/simulation.md: the authors' hand-written Matlab
    # gradients of DIoU and GIoU differ from the gradients of their formulas).
    # What holds for both: GIoU, DIoU and CIoU bring almost every case home.
    for name in ('giou', 'diou', 'ciou'):
        assert float((small_run.final_errors[name] < 0.01).double().mean()) > 0.95


def test_simulation_main_writes_table_and_figures(sim, tmp_path):
    saved = tmp_path / 'result.pt'
    result = sim.main(['--points', '20', '--steps', '40', '--losses', 'iou', 'ciou',
                       '--workers', '1', '--out', str(tmp_path), '--prefix', 'small',
                       '--save', str(saved)])
    assert set(result.curves) == {'iou', 'ciou'}
    table = (tmp_path / 'small_table.md').read_text().splitlines()
    assert table[0].startswith('| loss |') and len(table) == 4
    assert table[2].startswith('| IoU |') and table[3].startswith('| CIoU |')
    assert_png(tmp_path / 'small_error_curves.png')
    assert_png(tmp_path / 'small_final_error_maps.png')
    # --load tabulates saved results without simulating again
    reloaded = sim.main(['--load', str(saved), '--out', str(tmp_path / 'again')])
    assert torch.equal(reloaded.final_errors['ciou'], result.final_errors['ciou'])
    assert (tmp_path / 'again' / 'simulation_table.md').read_text().splitlines()[2:] \
        == table[2:]


# ------------------------------------------------------------------ curves


@pytest.mark.parametrize('gamma', [0.0, 0.5, 1.0, 2.0, 5.0])
def test_focal_curve_matches_closed_form(curves, gamma):
    p_t = torch.tensor([0.01, 0.1, 0.5, 0.9, 0.99], dtype=torch.float64)
    expected = -(1 - p_t)**gamma * torch.log(p_t)
    torch.testing.assert_close(curves.focal_curve(p_t, gamma), expected,
                               rtol=1e-9, atol=1e-12)


def test_focal_curve_reference_values(curves):
    p_t = torch.tensor([0.5, 0.9], dtype=torch.float64)
    # gamma = 2: 0.25 * ln 2 = 0.1732868; 0.01 * ln(1/0.9) = 0.0010536
    torch.testing.assert_close(curves.focal_curve(p_t, 2.0),
                               torch.tensor([0.1732868, 0.0010536],
                                            dtype=torch.float64), atol=1e-7,
                               rtol=0)
    # gamma = 0 is cross-entropy: ln 2 = 0.6931472
    assert math.isclose(float(curves.focal_curve(p_t, 0.0)[0]), math.log(2),
                        rel_tol=1e-12)


def test_location_curves_shift(curves):
    # 10 x 10 target; pred moved right by s. For s >= 10 (disjoint):
    # IoU loss = 1; enclosing box 10 x (10 + s), union 200, so
    # GIoU = 1 + (10 (10 + s) - 200) / (10 (10 + s)) = 1 + (s - 10) / (s + 10);
    # DIoU = 1 + s^2 / ((10 + s)^2 + 10^2).  At s = 5: IoU = 50 / 150 = 1/3.
    shifts = torch.tensor([0.0, 5.0, 10.0, 20.0, 30.0], dtype=torch.float64)
    values = curves.location_curves(*curves.shift_boxes(shifts),
                                    {**curves.IOU_FAMILY, **curves.OTHERS})
    s = shifts[2:]
    torch.testing.assert_close(values['IoU'][2:], torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(values['GIoU'][2:], 1 + (s - 10) / (s + 10))
    torch.testing.assert_close(values['DIoU'][2:],
                               1 + s**2 / ((10 + s)**2 + 100))
    assert math.isclose(float(values['IoU'][1]), 1 - 1 / 3, rel_tol=1e-6)
    # L1 on coordinates / target size: x1 and x2 each off by s / 10
    torch.testing.assert_close(values['L1'], 2 * shifts / 10)
    for label in curves.IOU_FAMILY:
        assert abs(float(values[label][0])) < 1e-5, label


def test_location_curves_aspect(curves):
    # Same centre and area: DIoU's distance term and WIoU's factor vanish, so both
    # equal the IoU loss; at w / h = 4 the pred is 20 x 5: IoU = 50 / 150 = 1/3.
    ratios = torch.tensor([0.25, 1.0, 4.0], dtype=torch.float64)
    values = curves.location_curves(*curves.aspect_boxes(ratios),
                                    curves.IOU_FAMILY)
    torch.testing.assert_close(values['DIoU'], values['IoU'])
    torch.testing.assert_close(values['WIoU v1'], values['IoU'])
    assert math.isclose(float(values['IoU'][2]), 2 / 3, rel_tol=1e-6)
    # CIoU adds a v: v = 4 / pi^2 (atan 4 - pi / 4)^2 = 0.1184,
    # a = v / (1 - 1/3 + v) = 0.1508, a v = 0.0178; the gated variant does not
    # (IoU 1/3 < 0.5).
    v = 4 / math.pi**2 * (math.atan(4) - math.pi / 4)**2
    a = v / (1 - 1 / 3 + v)
    assert math.isclose(float(values['CIoU'][2]), 2 / 3 + a * v, rel_tol=1e-5)
    assert math.isclose(float(values['CIoU, IoU >= 0.5 gate'][2]), 2 / 3,
                        rel_tol=1e-5)
    for label, value in values.items():
        assert abs(float(value[1])) < 1e-5, label


def test_cross_entropy_curves(curves):
    # -log p_t and its gradient wrt the ground-truth logit, p_t - 1, for both forms;
    # p_t = 0.9: loss ln(1/0.9) = 0.1053605, gradient -0.1
    p_t = torch.tensor([0.01, 0.1, 0.5, 0.9, 0.99], dtype=torch.float64)
    values = curves.cross_entropy_curves(p_t)
    assert len(values) == 2
    for label, (loss, grad) in values.items():
        torch.testing.assert_close(loss, -torch.log(p_t), rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(grad, p_t - 1, rtol=1e-9, atol=1e-12)
        assert math.isclose(float(loss[3]), 0.1053605, abs_tol=1e-7), label


def page_curves(curves, name, boxes):
    return curves.location_curves(*boxes, curves.LOSS_PAGES[name].curves)


def test_loss_page_curves_shift(curves):
    # 10 x 10 target, pred moved right by s px: overlap 10 (10 - s) for s < 10,
    # IoU = (10 - s) / (10 + s) (1/3 at s = 5), 0 from s = 10 on; the enclosing box
    # is (10 + s) x 10, so c^2 = (10 + s)^2 + 10^2 and rho = s.
    s = torch.tensor([0.0, 5.0, 10.0, 20.0, 30.0], dtype=torch.float64)
    boxes = curves.shift_boxes(s)
    iou = ((10 - s) / (10 + s)).clamp(min=0)
    distance = s**2 / ((10 + s)**2 + 100)
    far = s >= 10
    giou = page_curves(curves, 'giou', boxes)['GIoU']
    # beyond 10 px: union 200, enclosure 10 (10 + s): 1 + (s - 10) / (s + 10)
    torch.testing.assert_close(giou[far], 1 + (s[far] - 10) / (s[far] + 10))
    diou = page_curves(curves, 'diou', boxes)['DIoU']
    torch.testing.assert_close(diou, 1 - iou + distance)
    # s = 5: 2/3 + 25/325 = 0.7435897
    assert math.isclose(float(diou[1]), 0.7435897, rel_tol=1e-6)
    # equal shapes: CIoU (both variants) and EIoU are DIoU on this path
    for name in ('ciou', 'eiou'):
        for label, values in page_curves(curves, name, boxes).items():
            if 'Focal' not in label:
                torch.testing.assert_close(values, diou, msg=label)
    # Focal-EIoU = IoU^0.5 EIoU: sqrt(1/3) (2/3 + 25/325) = 0.4293, 0 when disjoint
    focal_eiou = page_curves(curves, 'eiou', boxes)['Focal-EIoU (gamma = 0.5)']
    torch.testing.assert_close(focal_eiou, iou.sqrt() * (1 - iou + distance))
    assert math.isclose(float(focal_eiou[1]), 0.4293, abs_tol=1e-4)
    assert float(focal_eiou[far].abs().max()) == 0
    # IoU 'log': -ln((10 - s) / (10 + s)), ln 3 at s = 5; -ln eps when disjoint
    log_iou = page_curves(curves, 'iou', boxes)['IoU (log)']
    assert math.isclose(float(log_iou[1]), math.log(3), rel_tol=1e-6)
    torch.testing.assert_close(log_iou[far], torch.full((3, ), -math.log(1e-6),
                                                        dtype=torch.float64))
    # SIoU on the x axis: angle cost 0, distance cost 1 - exp(-2 (s / (10 + s))^2),
    # shape cost 0; the penalty is half their sum
    siou = page_curves(curves, 'siou', boxes)['SIoU']
    torch.testing.assert_close(
        siou, 1 - iou + (1 - torch.exp(-2 * (s / (10 + s))**2)) / 2)
    # WIoU v3 with the running mean at 0.5: beta = (1 - IoU) / 0.5,
    # r = beta / (3 * 1.9^(beta - 3)); at s = 5 beta = 4/3, r = 1.2954
    wiou = page_curves(curves, 'wiou', boxes)
    v1 = torch.exp(distance) * (1 - iou)
    torch.testing.assert_close(wiou['WIoU v1'], v1)
    beta = (1 - iou) / 0.5
    # rtol: the module's eps in the mean's denominator moves beta by 2e-6
    torch.testing.assert_close(wiou['WIoU v3 (running mean 0.5)'],
                               beta / (3 * 1.9**(beta - 3)) * v1, rtol=1e-5,
                               atol=1e-7)
    # NWD: W_2 = s, 1 - exp(-s / 12.8); 1 - exp(-5 / 12.8) = 0.3233
    nwd = page_curves(curves, 'nwd', boxes)['NWD (C = 12.8)']
    torch.testing.assert_close(nwd[1:], 1 - torch.exp(-s[1:] / 12.8))
    # coordinate losses on coordinates / 10: x1 and x2 each off by s / 10
    n = s / 10
    torch.testing.assert_close(page_curves(curves, 'l1', boxes)['L1'], 2 * n)
    torch.testing.assert_close(page_curves(curves, 'l2', boxes)['L2'], 2 * n**2)
    smooth = page_curves(curves, 'smooth_l1', boxes)
    # beta = 1: 2 * 0.5 n^2 below n = 1 (0.25 at s = 5), 2 (n - 0.5) beyond
    torch.testing.assert_close(smooth['Smooth L1 (beta = 1)'],
                               torch.where(n < 1, n**2, 2 * (n - 0.5)))
    # beta = 0.11: L1 less 2 * 0.055 for every n >= 0.11
    torch.testing.assert_close(smooth['Smooth L1 (beta = 0.11)'][1:],
                               2 * (n[1:] - 0.055))


def test_loss_page_curves_aspect(curves):
    # Same centre and area; at w / h = 4 the pred is 20 x 5: IoU = 50 / 150 = 1/3,
    # enclosing box 20 x 10.
    ratios = torch.tensor([0.25, 1.0, 4.0], dtype=torch.float64)
    boxes = curves.aspect_boxes(ratios)
    # EIoU: 2/3 + (20 - 10)^2 / 20^2 + (5 - 10)^2 / 10^2 = 2/3 + 0.5 = 7/6
    eiou = page_curves(curves, 'eiou', boxes)['EIoU']
    assert math.isclose(float(eiou[2]), 7 / 6, rel_tol=1e-6)
    torch.testing.assert_close(eiou[0], eiou[2])
    # NWD: W_2^2 = ((20 - 10)^2 + (5 - 10)^2) / 4 = 31.25
    nwd = page_curves(curves, 'nwd', boxes)['NWD (C = 12.8)']
    assert math.isclose(float(nwd[2]), 1 - math.exp(-math.sqrt(31.25) / 12.8),
                        rel_tol=1e-9)
    # IoU 'log': ln 3
    log_iou = page_curves(curves, 'iou', boxes)['IoU (log)']
    assert math.isclose(float(log_iou[2]), math.log(3), rel_tol=1e-6)


def test_frontier_page_curves_shift(curves):
    # The shift path (10 x 10 target moved right by s): IoU = (10 - s) / (10 + s)
    # below s = 10, rho = s, c^2 = (10 + s)^2 + 100; both corners move by s.
    s = torch.tensor([0.0, 5.0, 10.0, 20.0, 30.0], dtype=torch.float64)
    boxes = curves.shift_boxes(s)
    iou = ((10 - s) / (10 + s)).clamp(min=0)
    distance = s**2 / ((10 + s)**2 + 100)
    # MPDIoU: d1^2 = d2^2 = s^2 over W^2 + H^2: 64^2 * 2 and 1333^2 + 800^2
    mpdiou = page_curves(curves, 'mpdiou', boxes)
    torch.testing.assert_close(mpdiou['MPDIoU, image 64 x 64'],
                               1 - iou + 2 * s**2 / (2 * 64**2))
    torch.testing.assert_close(mpdiou['MPDIoU, image 1333 x 800'],
                               1 - iou + 2 * s**2 / (1333**2 + 800**2))
    # Shape-IoU at scale 0: DIoU's distance, no shape cost (equal sizes)
    for label, values in page_curves(curves, 'shape_iou', boxes).items():
        torch.testing.assert_close(values, 1 - iou + distance, msg=label)
    # PIoU: P = (s + s) / 10 / 4 = s / 20; v2 = 3 x e^(-x^2) v1, x = 1.3 e^(-P)
    piou = page_curves(curves, 'piou', boxes)
    p = s / 20
    v1 = 1 - iou + 1 - torch.exp(-p**2)
    torch.testing.assert_close(piou['PIoU v1'], v1)
    x = 1.3 * torch.exp(-p)
    torch.testing.assert_close(piou['PIoU v2 (lambda = 1.3)'],
                               3 * x * torch.exp(-x**2) * v1)
    # s = 5: 2/3 + 1 - e^(-1/16) = 0.72722
    assert math.isclose(float(piou['PIoU v1'][1]), 2 / 3 + 1 - math.exp(-1 / 16),
                        rel_tol=1e-6)
    # WIoU v2: (L_IoU / 0.5)^(1/2) v1
    wiou = page_curves(curves, 'wiou', boxes)
    torch.testing.assert_close(wiou['WIoU v2 (running mean 0.5)'],
                               ((1 - iou) / 0.5).sqrt() * torch.exp(distance) *
                               (1 - iou), rtol=1e-5, atol=1e-7)
    # the modifiers on GIoU (hull 0 below s = 10, GIoU = 1 - IoU): Inner-GIoU is
    # 1 - IoU of the r-scaled boxes, (10 r - s) / (10 r + s); Focaler-GIoU adds
    # IoU - clamp((IoU - 0.2) / 0.6, 0, 1)
    modified = page_curves(curves, 'iou_modifiers', boxes)
    giou = modified['GIoU']
    for ratio in (0.7, 1.3):
        inner = ((10 * ratio - s) / (10 * ratio + s)).clamp(min=0)
        torch.testing.assert_close(modified[f'Inner-GIoU (ratio {ratio:g})'],
                                   giou + iou - inner)
    torch.testing.assert_close(modified['Focaler-GIoU (0.2, 0.8)'],
                               giou + iou - ((iou - 0.2) / 0.6).clamp(0, 1))
    # s = 5, ratio 0.7: 1 - 2/12 = 0.8333
    assert math.isclose(float(modified['Inner-GIoU (ratio 0.7)'][1]), 5 / 6,
                        rel_tol=1e-6)
    # coordinate losses on coordinates / 10: x1 and x2 each off by n = s / 10
    n = s / 10
    b = math.e**3 - 1
    balanced = page_curves(curves, 'balanced_l1', boxes)
    torch.testing.assert_close(
        balanced['Balanced L1 (beta = 1)'],
        2 * torch.where(n < 1, 0.5 / b * (b * n + 1) * torch.log(b * n + 1) - 0.5 * n,
                        1.5 * n + 1.5 / b - 0.5))
    torch.testing.assert_close(page_curves(curves, 'ghmr', boxes)
                               ['GHM-R = ASL1 (mu = 0.02)'],
                               2 * (torch.sqrt(n**2 + 0.02**2) - 0.02))


def test_ghmr_page_is_ghmr_of_one_box(curves):
    """The page's curve is GHM-R's 'sum' for a batch of one box: its harmonising
    weights are 1 on both paths."""
    from mmdet_losses import MODELS
    ghmr = MODELS.build(dict(type='mmdet_losses.GHMR', reduction='sum'))
    page = curves.LOSS_PAGES['ghmr'].curves['GHM-R = ASL1 (mu = 0.02)']
    for path in curves.box_paths():
        for i in (0, 150, 450, 600):
            pred, target = path.pred[i:i + 1] / 10, path.target[i:i + 1] / 10
            assert math.isclose(float(ghmr(pred, target)),
                                float(page(path.pred[i:i + 1], path.target[i:i + 1])),
                                rel_tol=1e-9, abs_tol=1e-12)


def test_loss_page_curves_vanish_on_the_target(curves):
    # shift 0 and aspect ratio 1 give the target itself: every page's loss is 0
    # (NWD: 1 - exp(-eps / 12.8) = 8e-8)
    zero = torch.zeros(1, dtype=torch.float64)
    for name, page in curves.LOSS_PAGES.items():
        for boxes in (curves.shift_boxes(zero), curves.aspect_boxes(zero + 1)):
            for label, values in curves.location_curves(*boxes,
                                                        page.curves).items():
                assert abs(float(values[0])) < 1e-6, (name, label)


def test_plot_loss_curves_writes_pngs(curves, tmp_path):
    paths = curves.main(['--out', str(tmp_path)])
    per_loss = set(CURVE_TOOL_PAGES.values()) - {'focal'} | EXTRA_PAGES
    assert set(paths) == {'focal', 'location'} | per_loss
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'focal_loss_curves.png', 'location_loss_curves.png', 'losses']
    assert sorted(p.name for p in (tmp_path / 'losses').iterdir()) == \
        sorted(f'{name}.png' for name in per_loss)
    assert_png(paths['focal'])
    assert_png(paths['location'])
    for name in per_loss:
        assert paths[name] == str(tmp_path / 'losses' / f'{name}.png')
        assert_png(paths[name], PER_LOSS_MAX_BYTES)


def test_plot_loss_curves_only(curves, tmp_path):
    paths = curves.main(['--out', str(tmp_path), '--only', 'giou', 'cross_entropy'])
    assert set(paths) == {'giou', 'cross_entropy'}
    assert [p.name for p in tmp_path.iterdir()] == ['losses']
    assert sorted(p.name for p in (tmp_path / 'losses').iterdir()) == \
        ['cross_entropy.png', 'giou.png']
    with pytest.raises(SystemExit):
        curves.main(['--out', str(tmp_path), '--only', 'bogus'])


# -------------------------------------------------------------------- docs


def test_loss_index_lists_every_loss_with_its_page():
    with open(osp.join(DOCS, 'losses', 'README.md')) as f:
        rows = [line for line in f if line.startswith('| `mmdet_losses.')]
    listed = {row.split('`')[1]: row for row in rows}
    assert set(listed) == {f'mmdet_losses.{name}' for name in LOSS_PAGES}
    for name, page in LOSS_PAGES.items():
        assert f']({page}.md) |' in listed[f'mmdet_losses.{name}'], name


def test_every_loss_page_shows_its_figure():
    for name, page in LOSS_PAGES.items():
        with open(osp.join(DOCS, 'losses', f'{page}.md')) as f:
            text = f.read()
        assert f"type='mmdet_losses.{name}'" in text, page
        figure = 'focal_loss_curves.png' if page == 'focal' else \
            f'losses/{page}.png'
        assert f'](../figures/{figure})' in text, page
        assert_png(osp.join(DOCS, 'figures', figure),
                   MAX_FIGURE_BYTES if page == 'focal' else PER_LOSS_MAX_BYTES)
