r"""Fused IoU-family losses: the weighted sum and its hand-derived gradient in one
pass over the boxes.

The plain autograd forms (``functional/location/``) keep a dozen ``(N,)`` intermediates of the
geometry for the backward and run as many kernels each way. Here the loss is

.. math:: S = \sum_i w_i L(b_i, b^{gt}_i), \qquad
    \frac{\partial S}{\partial b_i} = w_i \frac{\partial L}{\partial b_i},

with the value from the plain function itself (so it is the reference's by
construction) and the gradient from the hand-derived chain: the loss in its terms
(:mod:`.iou_term_grads`, where the derivation is written out), then the terms in
the coordinates, once for every loss (:mod:`.geometry_backward`). When the
boxes need a gradient, the forward computes the sum and ``(N, 4)`` gradient for
``grad_out = 1`` in one compiled pass over the boxes, and the backward only scales
that gradient by ``grad_out`` (in place); without one, the forward is the
reduction alone and stores no element-wise term. A second backward through a
retained graph recomputes the gradient from the boxes. Every pass is compiled
(:mod:`~mmdet_losses.functional.compile`) where a compiler is available; the plain forms stay the
reference the kernels are tested against (``tests/test_fused_iou.py``: values,
gradients, gradcheck, the degenerate matrix and the kinks).

:func:`fused_kernel_for` is the one place that decides which losses and options run
fused; everything else (``reduction='none'``, Inner-/Focaler-IoU, WIoU, NWD, the
losses without a kernel) runs the plain path.
"""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from ..compile import MaybeCompiled, maybe_compiled
from ..dtypes import output_dtype
from ..location import iou as F_iou
from ..location.geometry import BOX_EPS, aligned_box_terms, upcast_boxes
from ..location.iou_shape import siou_loss
from ..reduction import align_weight, reduce_sum
from . import iou_term_grads as G
from .geometry_backward import TermGrads, aligned_box_terms_backward

__all__ = ['iou_family_sum']


class FusedKernel(NamedTuple):
    """A plain loss, its term gradients and the keyword arguments they cover."""
    plain: Callable[..., Tensor]
    term_grads: Callable[..., TermGrads]
    hyper: Tuple[str, ...]
    weighted_sum: MaybeCompiled
    weighted_grad: MaybeCompiled
    weighted_sum_and_grad: MaybeCompiled


def _weight_or_one(weight: Optional[Tensor], like: Tensor):
    return 1.0 if weight is None else weight.to(like.dtype)


def _make_kernel(plain, term_grads, hyper: Tuple[str, ...]) -> FusedKernel:

    def weighted_sum(pred, target, weight, hyper):
        boxes = upcast_boxes(pred, target)
        loss = plain(*boxes, **dict(hyper))
        return (loss * _weight_or_one(weight, loss)).sum()

    def box_grads(boxes, g, kwargs):
        eps = kwargs.get('eps', BOX_EPS)
        terms = aligned_box_terms(*boxes, eps)
        g = torch.broadcast_to(g, terms.iou.shape)
        grads = term_grads(terms, *boxes, g, **kwargs)
        return aligned_box_terms_backward(*boxes, terms, grads, eps)

    def weighted_grad(pred, target, weight, grad_out, hyper, need_target):
        boxes = upcast_boxes(pred, target)
        g = grad_out.to(boxes[0].dtype) * _weight_or_one(weight, boxes[0])
        grad_pred, grad_target = box_grads(boxes, g, dict(hyper))
        # Only what is returned is computed in the compiled kernel.
        return grad_pred.to(pred.dtype), \
            grad_target.to(target.dtype) if need_target else None

    def weighted_sum_and_grad(pred, target, weight, hyper, need_target):
        # The sum and its gradient for grad_out = 1, in the upcast dtype.
        boxes = upcast_boxes(pred, target)
        kwargs = dict(hyper)
        kwargs.setdefault('eps', BOX_EPS)   # one eps for both: the geometry is shared
        loss = plain(*boxes, **kwargs)
        w = _weight_or_one(weight, loss)
        total = (loss * w).sum()
        grad_pred, grad_target = box_grads(boxes, torch.ones_like(loss) * w, kwargs)
        return total, grad_pred, grad_target if need_target else None

    for fn in (weighted_sum, weighted_grad, weighted_sum_and_grad):
        fn.__name__ = f'{plain.__name__}_{fn.__name__}'
    # Vectorised: each pass is four stride-4 loads per box (compile.vectorised_cpu).
    kernels = (maybe_compiled(fn, vectorise=True)
               for fn in (weighted_sum, weighted_grad, weighted_sum_and_grad))
    return FusedKernel(plain, term_grads, hyper, *kernels)


_FAMILY = ('eps', 'alpha')
KERNELS: Dict[str, FusedKernel] = {
    'iou': _make_kernel(F_iou.iou_loss, G.iou_term_grads, ('mode', ) + _FAMILY),
    'giou': _make_kernel(F_iou.giou_loss, G.giou_term_grads, _FAMILY),
    'diou': _make_kernel(F_iou.diou_loss, G.diou_term_grads, _FAMILY),
    'ciou': _make_kernel(F_iou.ciou_loss, G.ciou_term_grads,
                         _FAMILY + ('aspect_iou_threshold', )),
    'eiou': _make_kernel(F_iou.eiou_loss, G.eiou_term_grads,
                         _FAMILY + ('focal_gamma', )),
    'siou': _make_kernel(siou_loss, G.siou_term_grads, _FAMILY + ('theta', )),
}
_BY_PLAIN = {kernel.plain: name for name, kernel in KERNELS.items()}
# Modifiers of the IoU family that the kernels do not implement: off when None.
_MODIFIERS_OFF_WHEN_NONE = ('inner_ratio', 'focaler_range')


def fused_pays(device_type: str) -> bool:
    """Whether the fused kernels run compiled on ``device_type``. Run eagerly they
    are one operation per term of the derivation, and the plain autograd form is
    faster (1.3-2x at 20,000 and 1M pairs on the CPU); compiled, each pass is one
    kernel."""
    kernel = KERNELS['giou']
    return kernel.weighted_sum.use_compiled(device_type) and \
        kernel.weighted_grad.use_compiled(device_type)


def fused_kernel_for(loss_fn: Callable, kwargs: Dict[str, object],
                     weight: Optional[Tensor] = None, reduction: str = 'sum',
                     device_type: str = 'cpu') -> Optional[str]:
    """The one place that decides whether a reduced loss runs fused.

    Args:
        loss_fn: the element-wise loss (a plain function of ``location/``, compiled
            or not).
        kwargs: the keyword arguments it would be called with.
        weight: the element-wise weights, if any.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        device_type: where the boxes are (``'cpu'``, ``'cuda'``).

    Returns:
        The key of :data:`KERNELS` that computes ``sum(weight * loss_fn(...))``
        exactly, or ``None``, the plain way, for: ``reduction='none'``; kernels
        that would run eagerly (:func:`fused_pays`); an unknown loss; a keyword
        argument the kernel does not cover (Inner-/Focaler-IoU, ...); a weight
        that requires a gradient (the fused sum gives gradients to the boxes only).
    """
    name = _BY_PLAIN.get(getattr(loss_fn, 'fn', loss_fn))
    if name is None or reduction == 'none' or \
            (weight is not None and weight.requires_grad) or \
            not fused_pays(device_type):
        return None
    covered = KERNELS[name].hyper
    for key, value in kwargs.items():
        if key not in covered and not (key in _MODIFIERS_OFF_WHEN_NONE
                                       and value is None):
            return None
    return name


class _FusedIoUSum(torch.autograd.Function):
    """The sum, and when the boxes need a gradient, that gradient for
    ``grad_out = 1`` from the same pass over the boxes (one read of the inputs,
    the geometry computed once); the backward scales it by ``grad_out`` in place.
    A second backward through a retained graph recomputes it from the boxes."""

    @staticmethod
    def forward(ctx, pred, target, weight, name, hyper):
        ctx.save_for_backward(pred, target, weight)
        ctx.kernel, ctx.hyper = KERNELS[name], hyper
        ctx.dtypes = (pred.dtype, target.dtype)
        need_pred, need_target = ctx.needs_input_grad[:2]
        ctx.grads = None
        if not (need_pred or need_target):
            return ctx.kernel.weighted_sum(pred, target, weight, hyper)
        total, grad_pred, grad_target = ctx.kernel.weighted_sum_and_grad(
            pred, target, weight, hyper, need_target)
        ctx.grads = (grad_pred if need_pred else None, grad_target)
        return total

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        need_pred, need_target = ctx.needs_input_grad[:2]
        grads, ctx.grads = ctx.grads, None
        if grads is None:
            pred, target, weight = ctx.saved_tensors
            grad_pred, grad_target = ctx.kernel.weighted_grad(
                pred, target, weight, grad_out, ctx.hyper, need_target)
        else:
            grad_pred, grad_target = (
                None if g is None else _scaled(g, grad_out, dtype)
                for g, dtype in zip(grads, ctx.dtypes))
        return (grad_pred if need_pred else None,
                grad_target if need_target else None, None, None, None)


def _scaled(grad: Tensor, grad_out: Tensor, dtype: torch.dtype) -> Tensor:
    """``grad * grad_out`` in ``dtype``: in place when ``grad`` already has it."""
    if grad.dtype == dtype:
        return grad.mul_(grad_out.to(dtype))
    return (grad * grad_out.to(grad.dtype)).to(dtype)


def iou_family_sum(name: str, pred: Tensor, target: Tensor,
                   weight: Optional[Tensor] = None, **kwargs) -> Tensor:
    r"""``sum(weight * L(pred, target))`` for the IoU-family loss ``name``, fused.

    .. math:: S = \sum_i w_i L(b_i, b^{gt}_i)

    Args:
        name: a key of :data:`KERNELS` (``'iou'``, ``'giou'``, ``'diou'``,
            ``'ciou'``, ``'eiou'``, ``'siou'``).
        pred, target: ``(*, 4)`` boxes, x1y1x2y2.
        weight: optional ``(*)`` weights (or broadcastable), without gradient.
        **kwargs: the loss's hyper-parameters (``eps``, ``alpha``, ...), as for
            the plain function.

    Returns:
        scalar, float32 for half-precision or integer boxes (the sum never rounds
        to float16); gradients flow to ``pred`` and ``target``.
    """
    kernel = KERNELS[name]
    unknown = sorted(set(kwargs) - set(kernel.hyper))
    if unknown:
        raise TypeError(f'{name} fused sum takes {list(kernel.hyper)}, got {unknown}')
    hyper = tuple(sorted(kwargs.items()))
    return _FusedIoUSum.apply(pred, target, weight, name, hyper)


def iou_family_reduce(name: str, pred: Tensor, target: Tensor,
                      weight: Optional[Tensor], reduction: str, avg_factor=None,
                      **kwargs) -> Tensor:
    """``weight_reduce_loss(loss_fn(pred, target), weight, reduction, avg_factor)``
    through the fused sum (``reduction`` ``'mean'`` or ``'sum'``), in the dtype the
    plain path returns."""
    per_box = pred.new_zeros(()).expand(pred.shape[:-1])   # shape only, no memory
    out_dtype = output_dtype(pred)
    if weight is not None:
        weight = align_weight(weight, per_box)
        out_dtype = torch.promote_types(out_dtype, weight.dtype)
    total = iou_family_sum(name, pred, target, weight, **kwargs)
    return reduce_sum(total, per_box.numel(), reduction, avg_factor).to(out_dtype)
