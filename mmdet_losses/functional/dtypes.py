"""The dtype rules every loss follows.

* A loss is computed in float32, or in float64 for float64 inputs: float16 and
  bfloat16 inputs are upcast once (image-scale coordinates overflow float16 when
  squared or multiplied; 300^2 already does), and integer inputs are converted.
* The element-wise result comes back in the input's floating dtype, and in float32
  for integer inputs (an integer loss would truncate its mean).
"""
import torch
from torch import Tensor


def compute_dtype(tensor: Tensor) -> torch.dtype:
    """float64 for float64 input, float32 otherwise."""
    return torch.float64 if tensor.dtype == torch.float64 else torch.float32


def output_dtype(tensor: Tensor) -> torch.dtype:
    """The input's dtype if it is a floating dtype, float32 otherwise."""
    return tensor.dtype if tensor.is_floating_point() else torch.float32
