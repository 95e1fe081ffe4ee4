"""The fused IoU-family sums (``functional/fused/iou.py``: the sum and its
hand-derived gradient in one forward pass, a backward that scales it) against the plain autograd forms they replace: values and
gradients on random boxes, gradcheck, the degenerate matrix and the kinks, every
hyper-parameter, and the routing of the registered losses."""
import pytest
import torch

import mmdet_losses.functional as F
from location_specs import DEGENERATE_PAIRS, build_module, random_pairs
from mmdet_losses.functional.fused import iou as fused_iou
from mmdet_losses.functional.fused.iou import (KERNELS, fused_kernel_for,
                                               iou_family_reduce, iou_family_sum)
from mmdet_losses.functional.reduction import weight_reduce_loss
from reference_boxes import KINK_PAIRS, pair_batch

# (kernel, hyper-parameters): every kernel and every hyper-parameter it covers
CASES = [
    ('iou', dict(mode='log')), ('iou', dict(mode='linear')),
    ('iou', dict(mode='square')), ('iou', dict(mode='linear', alpha=3.0)),
    ('giou', {}), ('giou', dict(alpha=3.0)), ('giou', dict(alpha=0.5, eps=1e-4)),
    ('diou', {}), ('diou', dict(alpha=0.5)),
    ('ciou', {}), ('ciou', dict(aspect_iou_threshold=0.5)),
    ('ciou', dict(alpha=2.0, aspect_iou_threshold=0.3)),
    ('eiou', {}), ('eiou', dict(focal_gamma=0.5)),
    ('eiou', dict(alpha=2.0, focal_gamma=1.0)),
    ('siou', {}), ('siou', dict(theta=1.0)), ('siou', dict(theta=2.5, alpha=0.5)),
]
IDS = [f'{name}-{kwargs}' for name, kwargs in CASES]
TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-12),
             torch.float32: dict(rtol=2e-5, atol=1e-6)}


def tolerance(dtype, kwargs):
    """Rounding only. Alpha-IoU with alpha < 1 amplifies it: for a nested pair
    GIoU's hull term is 0 up to rounding (1e-16), its gradient 0.5 hull^-0.5 is 4e7,
    and the two forms' gradients (~0.1) are differences of terms of 1e6, summed in
    different orders: 1e-9 apart (1e-5 in float32)."""
    if kwargs.get('alpha', 1.0) < 1:
        return dict(rtol=1e-7, atol=1e-8) if dtype == torch.float64 else \
            dict(rtol=1e-3, atol=1e-4)
    return TOLERANCE[dtype]


# the kinks on top of the degenerate matrix of the location tests
MATRIX = {**DEGENERATE_PAIRS, **KINK_PAIRS}


def matrix_batch(dtype=torch.float64):
    return pair_batch(MATRIX, dtype)


def reference_sum(name, pred, target, weight=None, **kwargs):
    """sum(weight * loss) through the plain autograd function."""
    loss = KERNELS[name].plain(pred, target, **kwargs)
    return (loss if weight is None else loss * weight).sum()


def value_and_grads(fn, pred, target, *args, **kwargs):
    pred = pred.clone().requires_grad_(True)
    target = target.clone().requires_grad_(True)
    out = fn(pred, target, *args, **kwargs)
    out.backward()
    return out.detach(), pred.grad, target.grad


def both(name, pred, target, weight=None, **kwargs):
    fused = value_and_grads(lambda p, t: iou_family_sum(name, p, t, weight, **kwargs),
                            pred, target)
    plain = value_and_grads(lambda p, t: reference_sum(name, p, t, weight, **kwargs),
                            pred, target)
    return fused, plain


def assert_same(fused, plain, **tol):
    for what, a, b in zip(('value', 'grad pred', 'grad target'), fused, plain):
        torch.testing.assert_close(a, b, msg=lambda m: f'{what}: {m}', **tol)


@pytest.mark.parametrize('dtype', [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize('weighted', [False, True], ids=['no_w', 'w'])
@pytest.mark.parametrize('name,kwargs', CASES, ids=IDS)
def test_matches_plain_autograd(name, kwargs, weighted, dtype):
    # overlapping, nested and disjoint pairs; some nearly coincident (IoU > 0.5,
    # CIoU's gate open)
    pred, target = random_pairs(64, seed=0, dtype=dtype)
    pred[:16] = target[:16] + 0.3 * torch.randn(16, 4, dtype=dtype,
                                                generator=torch.Generator()
                                                .manual_seed(1))
    weight = torch.rand(64, dtype=dtype, generator=torch.Generator().manual_seed(2)) \
        if weighted else None
    fused, plain = both(name, pred, target, weight, **kwargs)
    assert fused[0].dtype == dtype and fused[1].dtype == dtype
    assert_same(fused, plain, **tolerance(dtype, kwargs))


# CIoU's trade-off and Focal-EIoU's IoU^gamma are constants for the gradient, which
# finite differences do not know: those cases are checked against autograd only.
GRADCHECK_CASES = [(name, kwargs) for name, kwargs in CASES
                   if name != 'ciou' and kwargs.get('focal_gamma') is None]


@pytest.mark.parametrize('name,kwargs', GRADCHECK_CASES,
                         ids=[f'{n}-{kw}' for n, kw in GRADCHECK_CASES])
def test_gradcheck(name, kwargs):
    # the hand-derived backward against finite differences, pred and target
    pred, target = random_pairs(6, seed=3)
    weight = torch.rand(6, dtype=torch.float64, generator=torch.Generator()
                        .manual_seed(4))
    pred.requires_grad_(True)
    target.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda p, t: iou_family_sum(name, p, t, weight, **kwargs), (pred, target))


@pytest.mark.parametrize('name,kwargs', CASES, ids=IDS)
def test_degenerate_and_kinks_equal_autograd(name, kwargs):
    """Zero-area, inverted, coincident, far disjoint, touching, shared edges: the
    kinks are resolved as autograd resolves them, pair by pair, and everything is
    finite."""
    names, pred, target = matrix_batch()
    failures = []
    for i, pair in enumerate(names):
        fused, plain = both(name, pred[i:i + 1], target[i:i + 1], **kwargs)
        for what, a, b in zip(('value', 'grad pred', 'grad target'), fused, plain):
            if not torch.isfinite(a).all() or \
                    not torch.allclose(a, b, **tolerance(torch.float64, kwargs)):
                failures.append(f'{pair}: {what} fused {a.tolist()} plain {b.tolist()}')
    assert not failures, '; '.join(failures)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize('name,kwargs', CASES, ids=IDS)
def test_half_precision(name, kwargs, dtype):
    """Computed in float32: the sum is float32 (no float16 rounding of the terms),
    the gradients come back in the boxes' dtype, finite on the whole matrix, and
    equal the float32 computation on the same (rounded) boxes. The one exception to
    finiteness: a float32 gradient beyond the dtype's range (a point box's CIoU
    aspect gradient, 1 / eps = 1e6 scale, in float16) cannot be finite."""
    _, pred, target = matrix_batch(dtype)
    fused = value_and_grads(lambda p, t: iou_family_sum(name, p, t, **kwargs),
                            pred, target)
    assert fused[0].dtype == torch.float32 and fused[1].dtype == dtype
    exact = value_and_grads(lambda p, t: reference_sum(name, p, t, **kwargs),
                            pred.float(), target.float())
    torch.testing.assert_close(fused[0], exact[0], rtol=1e-5, atol=1e-5)
    for got, want in zip(fused[1:], exact[1:]):
        in_range = want.abs() <= torch.finfo(dtype).max
        assert torch.isfinite(got[in_range]).all()
        torch.testing.assert_close(got[in_range], want[in_range].to(dtype),
                                   rtol=1e-2, atol=1e-5)


def test_hand_derived_diou_gradient():
    # pred (0, 0, 2, 2), target (1, 0, 3, 2): inter 1 x 2 = 2, union 4 + 4 - 2 = 6,
    # IoU = 1/3; centres (1, 1), (2, 1): rho^2 = 1; enclosing box 3 x 2, c^2 = 13:
    # L = 1 - 1/3 + 1/13 = 29/39.
    # d/dpx2: inter +2 (px2 < tx2: the overlap's right edge), union +2 - 2 = 0, so
    # dIoU = 2/6; rho^2: 2 (1 - 2) / 2 = -1; C_w: px2 is not the enclosing edge, 0.
    # dL/dpx2 = -1/3 - 1/13 = -16/39.
    pred = torch.tensor([[0., 0., 2., 2.]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[1., 0., 3., 2.]], dtype=torch.float64)
    out = iou_family_sum('diou', pred, target, eps=1e-12)
    torch.testing.assert_close(out, torch.tensor(29 / 39, dtype=torch.float64))
    out.backward()
    assert pred.grad[0, 2].item() == pytest.approx(-16 / 39, rel=1e-9)


def test_coincident_edges_share_the_gradient():
    # GIoU of boxes sharing their right edge x = 10 (pred (0, 0, 10, 10), target
    # (5, 2, 10, 8)): the overlap's right edge min(10, 10) and the enclosing box's
    # max(10, 10) split their gradient half/half between the two boxes, as autograd
    # does for torch.minimum/maximum; neither box gets all of it.
    fused, plain = both('giou', *[torch.tensor([box], dtype=torch.float64)
                                  for box in KINK_PAIRS['shared_right_edge']])
    assert_same(fused, plain, rtol=1e-12, atol=1e-15)
    assert fused[1][0, 2] != 0 and fused[2][0, 2] != 0


def test_integer_boxes_and_empty_input():
    pred = torch.tensor([[0, 0, 10, 10], [2, 2, 8, 12]])
    target = torch.tensor([[1, 0, 10, 10], [0, 0, 10, 10]])
    out = iou_family_sum('giou', pred, target)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.giou_loss(pred, target).sum())
    empty = torch.zeros(0, 4, requires_grad=True)
    total = iou_family_sum('ciou', empty, torch.zeros(0, 4))
    assert total.item() == 0.0
    total.backward()
    assert empty.grad.shape == (0, 4)


def test_grad_output_and_weight_scale_the_gradient():
    pred, target = random_pairs(9, seed=5)
    _, grad, _ = value_and_grads(lambda p, t: iou_family_sum('siou', p, t), pred,
                                 target)
    _, grad3, _ = value_and_grads(lambda p, t: 3 * iou_family_sum(
        'siou', p, t, torch.full((9, ), 0.5, dtype=torch.float64)), pred, target)
    torch.testing.assert_close(grad3, 1.5 * grad, rtol=1e-14, atol=0)


def test_retained_graph_backward_twice_recomputes():
    """The first backward scales the forward's gradient in place; a second one
    through the retained graph must not see that scaled tensor again."""
    pred, target = random_pairs(11, seed=8)
    weight = torch.rand(11, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(8))
    p, t = pred.clone().requires_grad_(True), target.clone().requires_grad_(True)
    out = iou_family_sum('ciou', p, t, weight)
    (2 * out).backward(retain_graph=True)
    first = p.grad.clone(), t.grad.clone()
    p.grad = t.grad = None
    (5 * out).backward()
    _, plain_pred, plain_target = value_and_grads(
        lambda a, b: reference_sum('ciou', a, b, weight), pred, target)
    for got, factor in ((first, 2), ((p.grad, t.grad), 5)):
        torch.testing.assert_close(got[0], factor * plain_pred, **TOLERANCE[torch.float64])
        torch.testing.assert_close(got[1], factor * plain_target,
                                   **TOLERANCE[torch.float64])


def test_gradient_in_the_forward_only_when_asked(monkeypatch):
    """No gradient pass without a box that needs one; with ``pred`` alone, none
    for ``target``; two losses on the same boxes accumulate."""
    calls = []
    kernel = fused_iou.KERNELS['giou']

    def spy(pred, target, weight, hyper, need_target):
        calls.append(need_target)
        return kernel.weighted_sum_and_grad(pred, target, weight, hyper, need_target)

    monkeypatch.setitem(fused_iou.KERNELS, 'giou',
                        kernel._replace(weighted_sum_and_grad=spy))
    pred, target = random_pairs(6, seed=2)
    iou_family_sum('giou', pred, target)
    assert calls == []
    p = pred.clone().requires_grad_(True)
    (iou_family_sum('giou', p, target) + 3 * iou_family_sum('giou', p, target)).backward()
    assert calls == [False, False]
    _, plain, _ = value_and_grads(lambda a, b: reference_sum('giou', a, b), pred, target)
    torch.testing.assert_close(p.grad, 4 * plain, **TOLERANCE[torch.float64])


def test_bad_arguments_are_named():
    pred, target = random_pairs(3)
    with pytest.raises(TypeError, match=r"giou fused sum takes \['eps', 'alpha'\], "
                       r"got \['theta'\]"):
        iou_family_sum('giou', pred, target, theta=2.0)
    with pytest.raises(ValueError, match='mode'):
        iou_family_sum('iou', pred, target, mode='cubic')


# ----------------------------------------------------------------------- routing
@pytest.fixture
def fused_pays(monkeypatch):
    """Route as where the kernels run compiled, while the tests run them eagerly
    (compiling costs tens of seconds; test_compiled_kernel_equals_eager and
    tests/test_compile.py run them compiled)."""
    monkeypatch.setattr(fused_iou, 'fused_pays', lambda device_type: True)


def test_eager_kernels_are_not_taken():
    # run eagerly, the fused kernels are slower than autograd: the plain path
    previous = F.get_compile()
    F.set_compile(False)
    try:
        assert not fused_iou.fused_pays('cpu')
        assert fused_kernel_for(F.giou_loss, {}) is None
        pred, target = random_pairs(5, seed=8, dtype=torch.float32)
        pred.requires_grad_(True)
        assert not _has_fused_node(build_module('giou')(pred, target))
    finally:
        F.set_compile({'on': True, 'off': False}.get(previous, 'auto'))


def test_one_place_decides_the_path(fused_pays):
    assert fused_kernel_for(F.giou_loss, dict(eps=1e-6, alpha=1.0)) == 'giou'
    assert fused_kernel_for(F.ciou_loss, dict(aspect_iou_threshold=0.5)) == 'ciou'
    assert fused_kernel_for(F.eiou_loss, dict(focal_gamma=0.5)) == 'eiou'
    # the compiled wrapper of a registered loss is recognised
    assert fused_kernel_for(build_module('siou').loss_fn, {}) == 'siou'
    # modifiers switched off are covered; switched on they take the plain path
    assert fused_kernel_for(F.diou_loss, dict(inner_ratio=None,
                                              focaler_range=None)) == 'diou'
    assert fused_kernel_for(F.diou_loss, dict(inner_ratio=0.8)) is None
    assert fused_kernel_for(F.giou_loss, dict(focaler_range=(0.0, 0.9))) is None
    # losses without a kernel, unknown arguments, weights that need a gradient
    assert fused_kernel_for(F.giou_loss, {}, reduction='none') is None
    assert fused_kernel_for(F.wiou_loss, {}) is None
    assert fused_kernel_for(F.nwd_loss, {}) is None
    assert fused_kernel_for(F.giou_loss, dict(unknown=1)) is None
    assert fused_kernel_for(F.giou_loss, {},
                            torch.ones(3, requires_grad=True)) is None


def _has_fused_node(loss):
    seen, stack = set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ == '_FusedIoUSumBackward':
            return True
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return False


MODULE_CASES = [('iou_log', {}), ('iou_linear', dict(alpha=2.0)), ('giou', {}),
                ('diou', {}), ('ciou', {}), ('ciou_gated', {}), ('eiou', {}),
                ('eiou', dict(focal_gamma=0.5)), ('siou', dict(theta=3.0))]


@pytest.mark.parametrize('key,kwargs', MODULE_CASES,
                         ids=[f'{k}-{kw}' for k, kw in MODULE_CASES])
@pytest.mark.parametrize('reduction,weight_shape,avg_factor', [
    ('mean', None, None), ('sum', None, None), ('mean', (11, ), 4.0),
    ('sum', (11, 4), None), ('mean', (11, 4), 2.5)])
def test_module_reductions_go_fused(key, kwargs, reduction, weight_shape,
                                    avg_factor, fused_pays):
    """'mean'/'sum' with weights and avg_factor: the fused sum, equal in value and
    gradient to the plain element-wise loss reduced by weight_reduce_loss."""
    module = build_module(key, reduction=reduction, loss_weight=2.0, **kwargs)
    assert type(module).__module__.startswith('mmdet_losses')
    pred, target = random_pairs(11, seed=6, dtype=torch.float32)
    weight = None if weight_shape is None else \
        0.1 + torch.rand(weight_shape, generator=torch.Generator().manual_seed(7))
    fused_pred = pred.clone().requires_grad_(True)
    loss = module(fused_pred, target, weight, avg_factor=avg_factor)
    assert _has_fused_node(loss)
    loss.backward()
    plain_pred = pred.clone().requires_grad_(True)
    reference = 2.0 * weight_reduce_loss(
        module.elementwise(plain_pred, target), weight, reduction, avg_factor)
    reference.backward()
    assert loss.dtype == reference.dtype == torch.float32
    torch.testing.assert_close(loss, reference, rtol=2e-6, atol=1e-7)
    torch.testing.assert_close(fused_pred.grad, plain_pred.grad, rtol=2e-5,
                               atol=1e-7)


def test_module_plain_path_where_not_covered(fused_pays):
    pred, target = random_pairs(5, seed=8, dtype=torch.float32)
    pred.requires_grad_(True)
    assert not _has_fused_node(build_module('giou', reduction='none')(pred, target)
                               .sum())
    assert not _has_fused_node(build_module('wiou_v1')(pred, target))
    assert not _has_fused_node(build_module('nwd')(pred, target))
    assert _has_fused_node(build_module('giou')(pred, target))


def test_reduce_keeps_the_plain_dtype_rules():
    pred, target = random_pairs(4, seed=9, dtype=torch.float16)
    out = iou_family_reduce('giou', pred, target, None, 'mean')
    assert out.dtype == torch.float16
    out64 = iou_family_reduce('giou', pred.float(), target.float(),
                              torch.ones(4, dtype=torch.float64), 'sum')
    assert out64.dtype == torch.float64


# ---------------------------------------------------------------------- compiled
@pytest.mark.slow
def test_compiled_kernel_equals_eager():
    """SIoU, the kernel with the most terms, through torch.compile: equal to eager,
    and a new batch size reuses the compiled kernels."""
    from torch._dynamo.utils import counters
    previous = F.get_compile()
    F.set_compile(True)
    try:
        graphs = []
        for n in (37, 53):
            pred, target = random_pairs(n, seed=n, dtype=torch.float32)
            weight = torch.rand(n, generator=torch.Generator().manual_seed(n))
            compiled = value_and_grads(lambda p, t: iou_family_sum(
                'siou', p, t, weight, theta=4.0), pred, target)
            with torch.no_grad():
                value = iou_family_sum('siou', pred, target, weight, theta=4.0)
            graphs.append(counters['stats']['unique_graphs'])
            F.set_compile(False)
            eager = value_and_grads(lambda p, t: iou_family_sum(
                'siou', p, t, weight, theta=4.0), pred, target)
            F.set_compile(True)
            assert_same(compiled, eager, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(value, eager[0], rtol=1e-5, atol=1e-6)
        assert fused_iou.KERNELS['siou'].weighted_sum._compiled is not None
        assert fused_iou.KERNELS['siou'].weighted_sum_and_grad._compiled is not None
        assert graphs[1] == graphs[0], 'a new batch size recompiled'
    finally:
        F.set_compile(previous)
