"""The gradient density of the Gradient Harmonizing Mechanism (Li, Liu and Wang, AAAI
2019, arXiv 1811.05181), shared by GHM-C (:mod:`.category.ghmc`) and GHM-R
(:mod:`.location.ghmr`): the gradient norms of a batch counted in ``M`` bins of width
``1/M`` (optionally as an exponential moving average), and each element's weight
``N / (n R_j)`` from its bin's count ``R_j`` (MMDetection's form: ``n`` the number of
non-empty bins, ``N`` the number of valid elements). Vectorised: no loop over bins,
no host synchronisation.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = ['ghm_edges', 'ghm_weights']


def ghm_edges(bins: int, device=None) -> Tensor:
    """MMDetection's bin edges ``j / M``, the last one raised by 1e-6 so that
    ``g = 1`` falls in the last bin."""
    edges = torch.arange(bins + 1, dtype=torch.float32, device=device) / bins
    edges[-1] += 1e-6
    return edges


def ghm_weights(g: Tensor, valid: Tensor, edges: Tensor,
                acc_sum: Optional[Tensor] = None,
                momentum: float = 0.0) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
    """Gradient-density weights of the elements ``g``.

    Args:
        g: gradient norms in ``[0, 1]``, any shape (no gradient).
        valid: boolean mask of ``g``'s shape; invalid elements get weight 0 and are
            not counted.
        edges: ``(M + 1,)`` bin edges (:func:`ghm_edges`).
        acc_sum: ``(M,)`` running counts for ``momentum > 0``, or ``None``.
        momentum: ``R_j <- m R_j + (1 - m) count_j`` for bins with elements.

    Returns:
        ``(weights, num_valid, new_acc_sum)``: weights of ``g``'s shape,
        ``max(N, 1)`` as a float tensor, and the updated running counts (``None``
        without momentum).
    """
    bins = edges.numel() - 1
    g = g if g.dtype == torch.float64 else g.float()
    index = (torch.bucketize(g, edges.to(g.device), right=True) - 1).clamp(
        min=0, max=bins)
    # invalid elements (and g beyond the last edge) go to an overflow bin
    index = torch.where(valid & (g < edges[-1]), index, torch.full_like(index, bins))
    counts = torch.zeros(bins + 1, dtype=g.dtype, device=g.device)
    counts = counts.scatter_add(0, index.reshape(-1),
                                torch.ones_like(g).reshape(-1))[:bins]
    num_valid = valid.sum().to(g.dtype).clamp(min=1.0)
    filled = counts > 0
    new_acc = None
    density = counts
    if momentum > 0 and acc_sum is not None:
        acc_sum = acc_sum.to(g.dtype)
        new_acc = torch.where(filled, momentum * acc_sum + (1 - momentum) * counts,
                              acc_sum)
        density = new_acc
    num_filled = filled.sum().to(g.dtype).clamp(min=1.0)
    per_bin = torch.where(filled, num_valid / density.clamp(min=1e-12),
                          torch.zeros_like(density)) / num_filled
    per_bin = torch.cat([per_bin, per_bin.new_zeros(1)])
    return per_bin[index], num_valid, new_acc
