"""The dtype rules of the functions and of the registered losses.

Functions (``mmdet_losses.functional``):

* A loss is computed in float32, or in float64 for float64 inputs: float16 and
  bfloat16 inputs are upcast once (image-scale coordinates overflow float16 when
  squared or multiplied; 300^2 already does), and integer inputs are converted.
* The element-wise result comes back in the input's floating dtype, and in float32
  for integer inputs (an integer loss would truncate its mean).

Registered losses (:class:`~mmdet_losses.losses.BaseLoss`), one rule for all of them
and every reduction: the value, ``'none'`` or reduced, is in the compute dtype of
the prediction (:func:`compute_dtype`): float32 for float16, bfloat16 and integer
predictions, float64 for float64, whatever the dtype of the weights. Under autocast
every loss computes and returns float32. The gradient returns to the prediction in
the prediction's own dtype.

Why the compute dtype rather than the prediction's: a reduced float16 loss rounds to
three significant digits and overflows beyond 65504 (a sum over a few thousand
boxes), a loss scaler (``AmpOptimWrapper``) and MMEngine's log buffers expect
float32 values, and it is what MMDetection users already see for half predictions
under autocast; a half head then gets one dtype for its whole loss dict, whatever
its losses and reductions. ``BaseLoss.forward`` applies the rule in one place: it
upcasts the prediction once on entry, as under autocast, so no path inside a loss
casts an intermediate back to half precision, and casts the value to the compute
dtype on exit.
"""
from typing import Tuple

import torch
from torch import Tensor

HALF_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(tensor: Tensor) -> torch.dtype:
    """float64 for float64 input, float32 otherwise: the dtype a loss computes in,
    and the dtype of a registered loss's value."""
    return torch.float64 if tensor.dtype == torch.float64 else torch.float32


def output_dtype(tensor: Tensor) -> torch.dtype:
    """The dtype of a function's element-wise result: the input's dtype if it is a
    floating dtype, float32 otherwise."""
    return tensor.dtype if tensor.is_floating_point() else torch.float32


def upcast(x: Tensor) -> Tensor:
    """float16/bfloat16 to float32; other dtypes unchanged."""
    return x.float() if x.dtype in HALF_PRECISION else x


def upcast_pair(pred: Tensor, target: Tensor) -> Tuple[Tensor, Tensor]:
    """``pred`` and ``target`` in the compute dtype of ``pred``."""
    dtype = compute_dtype(pred)
    return pred.to(dtype), target.to(dtype)


def tiny(x: Tensor) -> float:
    """The smallest normal number of ``x``'s dtype: the floor of a base raised to a
    power below 1, whose derivative is infinite at 0."""
    return torch.finfo(x.dtype).tiny
