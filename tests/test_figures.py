"""The figure tools: the regression simulation of Zheng et al. (tools/
simulate_regression.py) at small size, and the loss curves (tools/
plot_loss_curves.py): values against closed forms, and the PNGs they write."""
import importlib.util
import math
import os.path as osp
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
MAX_FIGURE_BYTES = 300 * 1024


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


def assert_png(path):
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE
    assert 10 * 1024 < len(data) < MAX_FIGURE_BYTES
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


def test_plot_loss_curves_writes_pngs(curves, tmp_path):
    paths = curves.main(['--out', str(tmp_path)])
    assert set(paths) == {'focal', 'location'}
    for path in paths.values():
        assert_png(path)
