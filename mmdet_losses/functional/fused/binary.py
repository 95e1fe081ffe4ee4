"""The fused engine of the sigmoid category losses: a weighted sum in one pass with an
analytic backward, for any element-wise loss ``l(x, t)`` of a logit ``x`` and a target
``t`` in ``[0, 1]`` (focal / BCE, Quality Focal, Varifocal).

RetinaNet scores about 200,000 anchors x 80 classes per batch. A plain autograd form
keeps half a dozen ``(N, C)`` intermediates and runs as many kernels each way; here
the forward is one reduction that never stores the element-wise loss, and the
backward is one element-wise pass that recomputes what it needs from the logits. Both
are compiled (:mod:`~mmdet_losses.functional.compile`) where a compiler is available.

A loss plugs in as a *terms* function ``terms(x, t, hyper, need_loss, need_grad) ->
(loss, dloss/dx)``, ``x`` float32/64 logits, ``t`` a tensor or one number for all
(:func:`binary_logit_terms` gives the shared pieces: ``p``, ``1 - p`` and the BCE from
one ``exp``).

With integer labels the ``(N, C)`` pass uses the negative target everywhere (a
constant, which vectorises fully), and the ``N`` positive logits are corrected by a
gather (forward: add their positive loss, take away their negative one) and a scatter
(backward: overwrite their gradient): the dense target never exists. The positive
target is one number (focal: ``1``, or ``1 - s/2`` with label smoothing) or one per
row (the IoU quality scores of QFL/VFL).

Where ``weight`` is 0 the logit is replaced by 0 inside the kernels, so garbage there
(inf, NaN) gives exactly 0 to the value and the gradient, without a host
synchronisation.
"""
import types
from typing import Callable, Dict, NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor

from ..compile import MaybeCompiled, maybe_compiled
from ..dtypes import upcast

Target = Union[float, Tensor]
Terms = Callable[..., Tuple[Optional[Tensor], Optional[Tensor]]]


class LogitTerms(NamedTuple):
    p: Tensor      # sigmoid(x)
    p_neg: Tensor  # 1 - sigmoid(x) = sigmoid(-x), without cancellation
    bce: Tensor    # BCE(x, t) = (1 - t) x + softplus(-x)


def binary_logit_terms(x: Tensor, t: Target) -> LogitTerms:
    """``sigmoid(x)``, ``sigmoid(-x)`` and ``BCE(x, t)`` from one ``exp``."""
    e = torch.exp(-x.abs())
    r = 1 / (1 + e)
    positive = x >= 0
    p = torch.where(positive, r, e * r)
    p_neg = torch.where(positive, e * r, r)
    bce = (1 - t) * x + (-x).clamp(min=0) + torch.log1p(e)
    return LogitTerms(p, p_neg, bce)


def _masked(x: Tensor, weight: Optional[Tensor]) -> Tensor:
    x = upcast(x)
    return x if weight is None else torch.where(weight > 0, x, x.new_zeros(()))


def _weighted(value: Tensor, weight: Optional[Tensor]) -> Tensor:
    return value if weight is None else value * weight


class FusedKernels(NamedTuple):
    terms: Terms
    weighted_sum: MaybeCompiled
    weighted_grad: MaybeCompiled


_KERNELS: Dict[str, FusedKernels] = {}


def _own_code(fn: Callable, name: str) -> Callable:
    """``fn`` with a code object of its own, named ``name``.

    torch.compile caches compiled graphs per code object, at most
    ``torch._dynamo.config.cache_size_limit`` (8) of them, and runs eager beyond. The
    kernels of every registered loss are closures of the same two functions: sharing
    their code objects, focal, BCE, QFL and VFL with their target forms would exhaust
    that cache and silently fall back to eager (measured: 9.7x the floor instead of
    2x with all four losses in one process).
    """
    code = fn.__code__.replace(co_name=name, co_qualname=name)
    own = types.FunctionType(code, fn.__globals__, name, fn.__defaults__,
                             fn.__closure__)
    own.__doc__ = fn.__doc__
    return own


def register_terms(name: str, terms: Terms) -> FusedKernels:
    """Compile-ready sum and gradient kernels for a terms function."""

    def weighted_sum(x: Tensor, t: Target, weight: Optional[Tensor],
                     hyper: tuple) -> Tensor:
        loss, _ = terms(_masked(x, weight), t, hyper, True, False)
        return _weighted(loss, weight).sum()

    def weighted_grad(x: Tensor, t: Target, weight: Optional[Tensor],
                      grad_out: Tensor, hyper: tuple) -> Tensor:
        _, grad = terms(_masked(x, weight), t, hyper, False, True)
        return (_weighted(grad, weight) * grad_out).to(x.dtype)

    kernels = FusedKernels(terms,
                           maybe_compiled(_own_code(weighted_sum, f'{name}_weighted_sum')),
                           maybe_compiled(_own_code(weighted_grad,
                                                    f'{name}_weighted_grad')))
    _KERNELS[name] = kernels
    return kernels


def runs_compiled(name: str, device_type: str) -> bool:
    """Whether the kernels of the loss registered as ``name`` run compiled on
    ``device_type``; a loss whose eager kernels are slower than its plain form
    (measured: MAL, ``benchmarks/README.md``) is fused only then."""
    kernels = _KERNELS[name]
    return kernels.weighted_sum.use_compiled(device_type) and \
        kernels.weighted_grad.use_compiled(device_type)


def _positives(x: Tensor, labels: Tensor, weight: Optional[Tensor]):
    """Column of each label, the positive mask, the (masked) positive logits and
    their weights."""
    num_classes = x.shape[-1]
    column = labels.clamp(min=0, max=num_classes - 1).long().unsqueeze(1)
    is_positive = ((labels >= 0) & (labels < num_classes)).unsqueeze(1)
    weight_at = None if weight is None else \
        weight.expand_as(x).gather(1, column)
    return column, is_positive, _masked(x.gather(1, column), weight_at), weight_at


def _row_target(positive_t: Target, x_at: Tensor) -> Target:
    return positive_t.to(x_at.dtype).reshape(-1, 1) \
        if isinstance(positive_t, Tensor) else positive_t


class _FusedBinarySum(torch.autograd.Function):
    """Dense float targets: one pass each way. Integer labels: a pass with the
    negative target everywhere, then the positives corrected (see module doc)."""

    @staticmethod
    def forward(ctx, x, target, positive_t, weight, name, hyper, negative_t):
        kernels = _KERNELS[name]
        ctx.save_for_backward(x, target, weight,
                              positive_t if isinstance(positive_t, Tensor) else None)
        ctx.static = (name, hyper, negative_t,
                      None if isinstance(positive_t, Tensor) else positive_t)
        if target.is_floating_point():
            return kernels.weighted_sum(x, target.to(upcast(x).dtype), weight, hyper)
        total = kernels.weighted_sum(x, negative_t, weight, hyper)
        _, is_positive, x_at, weight_at = _positives(x, target, weight)
        positive_at = _row_target(positive_t, x_at)
        as_positive, _ = kernels.terms(x_at, positive_at, hyper, True, False)
        as_negative, _ = kernels.terms(x_at, negative_t, hyper, True, False)
        correction = _weighted((as_positive - as_negative) * is_positive, weight_at)
        return total + correction.sum()

    @staticmethod
    def backward(ctx, grad_out):
        x, target, weight, positive_tensor = ctx.saved_tensors
        name, hyper, negative_t, positive_t = ctx.static
        kernels = _KERNELS[name]
        nones = (None, ) * 6
        if target.is_floating_point():
            return (kernels.weighted_grad(x, target.to(upcast(x).dtype), weight,
                                          grad_out, hyper), *nones)
        grad = kernels.weighted_grad(x, negative_t, weight, grad_out, hyper)
        column, is_positive, x_at, weight_at = _positives(x, target, weight)
        positive_at = _row_target(
            positive_t if positive_tensor is None else positive_tensor, x_at)
        _, as_positive = kernels.terms(x_at, positive_at, hyper, False, True)
        # overwrite (not add a difference): the positives' gradient stays exact
        at_column = torch.where(is_positive,
                                _weighted(as_positive, weight_at) * grad_out,
                                grad.gather(1, column))
        grad.scatter_(1, column, at_column.to(grad.dtype))
        return (grad, *nones)


def fused_binary_sum(name: str,
                     pred: Tensor,
                     target: Tensor,
                     weight: Optional[Tensor],
                     hyper: tuple,
                     negative_t: float = 0.0,
                     positive_t: Target = 1.0) -> Tensor:
    """``sum(weight * l(pred, t))`` for the loss registered as ``name``.

    Args:
        name: a name given to :func:`register_terms`.
        pred: ``(N, C)`` logits.
        target: ``(N,)`` integer labels (``C`` or any value outside ``[0, C)`` is
            background) or ``(N, C)`` float targets.
        weight: optional weights broadcastable to ``(N, C)``, without gradient.
        hyper: the loss's hyper-parameters, as its terms function takes them.
        negative_t: with labels, the target of every non-label column.
        positive_t: with labels, the target of the label column: one number, or an
            ``(N,)`` tensor (no gradient).

    Returns:
        scalar, float32 for half-precision ``pred``; its gradient flows to ``pred``
        only.
    """
    return _FusedBinarySum.apply(pred, target, positive_t, weight, name, hyper,
                                 float(negative_t))
