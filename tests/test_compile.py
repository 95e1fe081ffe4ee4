"""Compiled loss kernels equal the eager ones, and a new batch size does not
recompile. The rest of the suite runs eager (see conftest.py); this module switches
compilation on for its tests only. Compiling costs tens of seconds on two cores, so
the module compiles GIoU and CIoU once each (forward and backward)."""
import pytest
import torch
from torch._dynamo.utils import counters

import mmdet_losses.functional as F
from location_specs import build_module, random_pairs

pytestmark = pytest.mark.slow

BATCH_SIZES = (7, 23)   # neither 0 nor 1, which dynamic shapes specialise


@pytest.fixture(scope='module', autouse=True)
def compile_on():
    previous = F.get_compile()
    F.set_compile(True)
    try:
        yield
    finally:
        F.set_compile(previous)


def _run(module, pred, target, weight):
    pred = pred.clone().requires_grad_(True)
    loss = module(pred, target, weight=weight, avg_factor=3.0)
    loss.backward()
    return loss.detach(), pred.grad


def _graphs():
    return counters['stats']['unique_graphs']


@pytest.mark.parametrize('key,kwargs', [('giou', {}),
                                        ('ciou', dict(aspect_iou_threshold=0.5)),
                                        ('l1', {})], ids=['giou', 'ciou', 'l1'])
def test_compiled_equals_eager_without_recompiling(key, kwargs):
    assert F.get_compile() == 'on'
    module = build_module(key, **kwargs)
    before = _graphs()
    graphs = []
    for size in BATCH_SIZES:
        pred, target = random_pairs(size, seed=size, dtype=torch.float32)
        pred[: size // 2] = target[: size // 2] + 0.5   # some IoU > 0.5 pairs
        weight = torch.rand(size, 4, generator=torch.Generator().manual_seed(size))
        compiled_value, compiled_grad = _run(module, pred, target, weight)
        graphs.append(_graphs())
        F.set_compile(False)
        try:
            eager_value, eager_grad = _run(module, pred, target, weight)
        finally:
            F.set_compile(True)
        torch.testing.assert_close(compiled_value, eager_value, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(compiled_grad, eager_grad, rtol=1e-5, atol=1e-6)
    if key != 'l1':   # the IoU kernels did go through torch.compile (L1 runs eager)
        assert graphs[0] > before, 'nothing was compiled'
    # the second batch size reuses the first one's (dynamic-shape) graphs
    assert graphs[1] == graphs[0], f'recompiled: unique graphs {before}, {graphs}'


@pytest.mark.parametrize('vectorise', [True, False])
def test_box_kernels_compile_with_vectorisation_forced_on(vectorise):
    """``maybe_compiled(vectorise=True)`` runs (and so compiles) the function with
    inductor's CPU tiling heuristic off, and restores it afterwards; without the
    flag the setting is left alone. The box kernels use it."""
    from torch._inductor import config
    from mmdet_losses.functional.compile import maybe_compiled
    from mmdet_losses.functional.fused.iou import KERNELS
    from mmdet_losses.ops import pairwise_diou

    seen = []
    kernel = maybe_compiled(lambda x: x + 1, vectorise=vectorise)
    kernel._compiled = lambda x: seen.append(config.cpp.enable_tiling_heuristics) or x
    assert config.cpp.enable_tiling_heuristics   # inductor's default
    kernel(torch.ones(3))
    assert seen == [not vectorise]
    assert config.cpp.enable_tiling_heuristics
    assert pairwise_diou.vectorise and all(
        k.vectorise for kernel in KERNELS.values()
        for k in (kernel.weighted_sum, kernel.weighted_grad, kernel.weighted_sum_and_grad))


def test_focaler_float16_gradient_compiled_equals_eager():
    """Focaler-DIoU on two zero-width float16 boxes, compiled and eager: the same
    gradient, d(rho^2 / c^2) alone (0 in x, 0.00875 and 0.0056875 in y; the IoU's
    gradient is beyond float16 there and cancels with its correction)."""
    from mmdet_losses import MODELS
    grads = []
    for compiled in (True, False):
        F.set_compile(compiled)
        try:
            loss = MODELS.build(dict(type='mmdet_losses.DIoULoss',
                                     focaler_range=(0.1, 0.9)))
            pred = torch.tensor([[10.0, 12, 10, 30]], dtype=torch.float16,
                                requires_grad=True)
            loss(pred, torch.tensor([[10.0, 10, 10, 25]], dtype=torch.float16)).backward()
            grads.append(pred.grad)
        finally:
            F.set_compile(True)
    torch.testing.assert_close(grads[0], grads[1], rtol=0, atol=0)
    torch.testing.assert_close(grads[1].float(),
                               torch.tensor([[0.0, 0.00875, 0.0, 0.0056875]]),
                               rtol=1e-3, atol=1e-7)
