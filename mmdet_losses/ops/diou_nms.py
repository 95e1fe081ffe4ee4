r"""DIoU-NMS: greedy non-maximum suppression with the Distance-IoU criterion.

Zheng et al., *Distance-IoU Loss: Faster and Better Learning for Bounding Box
Regression*, AAAI 2020, arXiv:1911.08287, section "Non-Maximum Suppression using
DIoU". Greedy NMS visits the boxes in decreasing score order and keeps a box unless a
box kept before it suppresses it. DIoU-NMS suppresses box :math:`B_i` by the kept box
:math:`M` only when

.. math::
    IoU(M, B_i) - \Big(\frac{\rho^2(M, B_i)}{c^2}\Big)^{\beta} \ge \varepsilon

with :math:`\rho` the distance of the two centres, :math:`c` the diagonal of their
smallest enclosing box and :math:`\varepsilon` the IoU threshold. Neighbours whose
centres lie far apart (occluded objects) survive where plain NMS drops them. As
:math:`\beta \to \infty` the penalty vanishes (:math:`\rho^2 < c^2`) and DIoU-NMS
becomes plain NMS; boxes with coincident centres are treated as plain NMS treats them
for every :math:`\beta`.

The rule is the paper's, ``>=``. The authors' code (``diounms`` in
``Zzh-tju/DIoU-SSD-pytorch``) keeps boxes with ``DIoU <= threshold``, i.e. suppresses
only above it, as torchvision's and mmcv's ``nms`` do; the two differ only where the
criterion equals the threshold exactly (pinned in the tests).

The greedy pass is matrix-based and exact, with no loop over the boxes. The boxes are
split into groups that cannot interact (:func:`independent_groups`: other classes,
gaps along x), taken group by group in decreasing score order, in blocks
(:data:`BLOCK_SIZE` boxes first, larger ones where most boxes are suppressed early).
For a block, one pairwise criterion matrix against the boxes kept before it in its
groups (whose outcome is final) removes the block's boxes that they suppress; among
the survivors, in score order, with their criterion matrix :math:`D`, the greedy
result is the fixed point of

.. math::
    k^{(t+1)}_i = \neg \exists\, j < i:\ k^{(t)}_j \wedge D_{ji} \ge
    \varepsilon, \qquad k^{(0)} = 1

as in Cluster-NMS (Zheng et al., arXiv:2005.03572). Entry :math:`i` depends only on
the entries before it, so after :math:`t` steps the first :math:`t` entries are final:
the fixed point is unique, it is the greedy result, and it is reached after at most
as many steps as survivors, in practice a few. Host syncs: a few per block (where its
groups start, how many survive) and one per fixed-point step, never one per box.
"""
from typing import Optional

import torch
from torch import Tensor

from ..functional.compile import maybe_compiled
from ..functional.dtypes import compute_dtype
from ..functional.location.geometry import aligned_box_terms
from ..functional.validation import check_number

#: Boxes of the first block of the greedy pass (whose own pairwise matrix is
#: ``BLOCK_SIZE^2``); later blocks grow up to ``MAX_BLOCK_SIZE`` as far as about
#: ``BLOCK_SIZE`` of their boxes survive the boxes kept before them.
BLOCK_SIZE = 128
MAX_BLOCK_SIZE = 1024
#: Pairs (kept boxes x block) of one pairwise geometry call: bounds its memory.
MAX_PAIRS = 1 << 21
# The geometry core's eps, here the smallest normal float: it keeps 0 / 0 finite for
# point boxes without moving any IoU of a real pair, so that DIoU-NMS with coincident
# centres decides exactly as plain NMS (which divides by the exact union) does.
_TINY = torch.finfo(torch.float32).tiny


def check_nms_inputs(boxes: Tensor, scores: Tensor, iou_threshold: float, beta: float,
                     idxs: Optional[Tensor] = None) -> None:
    """Raise ``TypeError``/``ValueError`` naming the argument, the value and what is
    allowed."""
    for name, value in (('boxes', boxes), ('scores', scores)) + \
            ((('idxs', idxs), ) if idxs is not None else ()):
        if not isinstance(value, Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, '
                            f'got {type(value).__name__}')
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError('boxes must have shape (N, 4) in (x1, y1, x2, y2) format, '
                         f'got {tuple(boxes.shape)}')
    if scores.shape != boxes.shape[:1]:
        raise ValueError(f'scores must have shape (N,) = ({boxes.shape[0]},) to match '
                         f'boxes {tuple(boxes.shape)}, got {tuple(scores.shape)}')
    if idxs is not None:
        if idxs.shape != boxes.shape[:1]:
            raise ValueError(f'idxs must have shape (N,) = ({boxes.shape[0]},) to '
                             f'match boxes {tuple(boxes.shape)}, '
                             f'got {tuple(idxs.shape)}')
        if idxs.is_floating_point() or idxs.is_complex():
            raise TypeError(f'idxs must be an integer tensor, got {idxs.dtype}')
    check_number('iou_threshold', iou_threshold, 0.0, 1.0)
    check_number('beta', beta, 0.0, low_open=True)


@maybe_compiled(vectorise=True)
def pairwise_diou(boxes1: Tensor, boxes2: Tensor, beta: float = 1.0) -> Tensor:
    r"""The DIoU-NMS criterion of every pair of boxes, compiled into one pass where a
    compiler is available (:mod:`~mmdet_losses.functional.compile`). The greedy
    pass compiles it together with its reduction or mask (``pairwise_diou.fn``).

    .. math::
        D_{ij} = IoU(A_i, B_j) - \big(\rho^2(A_i, B_j) / c^2_{ij}\big)^{\beta}
            \in [-1, 1]

    Args:
        boxes1: ``(M, 4)`` boxes, x1y1x2y2, float32 or float64.
        boxes2: ``(N, 4)`` boxes, same dtype.
        beta: :math:`\beta > 0`.

    Returns:
        ``(M, N)`` in the dtype of the boxes.
    """
    terms = aligned_box_terms(boxes1[:, None, :], boxes2[None, :, :], eps=_TINY)
    penalty = terms.center_dist_sq / (terms.enclose_diag_sq + _TINY)
    if beta != 1.0:
        penalty = penalty.pow(beta)
    return terms.iou - penalty


def _masked_diou(boxes1: Tensor, classes1: Optional[Tensor], boxes2: Tensor,
                 classes2: Optional[Tensor], beta: float) -> Tensor:
    """:func:`pairwise_diou`, pushed below -1 (below every threshold) for pairs of
    different classes. Class ranks are whole numbers, so ``|k_i - k_j| >= 1`` there
    and 0 exactly within a class."""
    diou = pairwise_diou.fn(boxes1, boxes2, beta)
    if classes1 is not None:
        diou = diou - 3 * (classes1[:, None] - classes2[None, :]).abs()
    return diou


@maybe_compiled(vectorise=True)
def _best_diou_chunk(kept: Tensor, kept_classes: Optional[Tensor], block: Tensor,
                     block_classes: Optional[Tensor], beta: float) -> Tensor:
    """``(b,)``: the largest masked criterion of each block box against ``kept``
    (one pass, the matrix is not stored)."""
    return _masked_diou(kept, kept_classes, block, block_classes, beta).amax(0)


@maybe_compiled(vectorise=True)
def _block_diou(candidates: Tensor, classes: Optional[Tensor], beta: float) -> Tensor:
    """``(b, b)`` masked criterion among ``candidates``, ``[j, i]`` of box j against
    box i, ``-inf`` on and below the diagonal (a box is suppressed only by earlier
    ones)."""
    diou = _masked_diou(candidates, classes, candidates, classes, beta)
    upper = torch.ones_like(diou, dtype=torch.bool).triu(1)
    return torch.where(upper, diou, float('-inf'))


def _greedy_within(diou: Tensor, iou_threshold: float) -> Tensor:
    """``(b,)`` bool: greedy NMS among ``b`` boxes in score order, as the fixed point
    of the module docstring.

    Args:
        diou: ``(b, b)``, ``[j, i]``: the criterion of box j against box i, ``-inf``
            on and below the diagonal (a box is suppressed only by earlier ones).
    """
    keep = torch.ones(diou.shape[0], dtype=torch.bool, device=diou.device)
    if diou.shape[0] == 0:
        return keep
    for _ in range(diou.shape[0] + 1):
        # a float max per column, not a boolean any: much faster on the CPU
        new_keep = torch.where(keep[:, None], diou, float('-inf')).amax(0) \
            < iou_threshold
        if torch.equal(new_keep, keep):
            break
        keep = new_keep
    return keep


def independent_groups(boxes: Tensor, idxs: Optional[Tensor] = None) -> Tensor:
    r"""``(N,)`` int64 group key of each box (equal keys: same group; 0, 1, ... without
    ``idxs``), such that boxes of different groups never suppress each other:
    different ``idxs``, or apart along x.

    Sorted by their left edge, the boxes split wherever a box starts right of every
    box before it ends: across such a gap no pair overlaps, and a pair without
    overlap and with distinct centres has :math:`DIoU = -(\rho^2/c^2)^\beta < 0
    \le \varepsilon`. This is what makes the offsets of ``mmcv.ops.batched_nms``
    (which shift each class apart) and images of separate clusters cheap.
    """
    left = torch.minimum(boxes[:, 0], boxes[:, 2])
    right = torch.maximum(boxes[:, 0], boxes[:, 2])
    by_left = torch.sort(left, stable=True).indices
    reach = torch.cummax(right[by_left], dim=0).values
    starts = torch.zeros_like(by_left)
    starts[1:] = left[by_left][1:] > reach[:-1]
    groups = torch.empty_like(by_left)
    groups[by_left] = torch.cumsum(starts, dim=0)
    if idxs is not None:
        groups = idxs.to(torch.int64) * boxes.shape[0] + groups
    return groups


def _greedy_nms(boxes: Tensor, scores: Tensor, idxs: Optional[Tensor],
                iou_threshold: float, beta: float) -> Tensor:
    count = boxes.shape[0]
    if count == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    dtype = compute_dtype(boxes)
    boxes = boxes.to(dtype)  # half precision upcast once, as in the geometry core
    keys = independent_groups(boxes, idxs)
    score_order = torch.sort(scores, descending=True, stable=True).indices
    # Group by group, each in decreasing score order (ties: input order); the kept
    # boxes of earlier groups then never need to be looked at again.
    grouped = idxs is not None or int(keys.max()) > 0
    by_group = torch.sort(keys[score_order], stable=True).indices if grouped else None
    order = score_order[by_group] if grouped else score_order
    boxes, keys = boxes[order], keys[order]
    groups = torch.zeros_like(keys)  # 0, 1, ... in processing order
    groups[1:] = torch.cumsum(keys[1:] != keys[:-1], dim=0)
    # whole numbers below N, exact in float32; one group needs no mask
    classes = groups.to(dtype) if grouped else None
    keep = torch.zeros(count, dtype=torch.bool, device=boxes.device)
    kept, kept_groups = boxes.new_empty(count, 4), groups.new_empty(count)
    num_kept, start, block_size = 0, 0, BLOCK_SIZE
    while start < count:
        stop = min(start + block_size, count)
        alive = torch.arange(start, stop, device=boxes.device)
        # kept boxes of the block's groups: a suffix, as groups come in order
        first = int(torch.searchsorted(kept_groups[:num_kept], groups[start])) \
            if grouped else 0
        if first < num_kept:
            kept_classes = kept_groups[first:num_kept].to(dtype) if grouped else None
            best = _best_diou(kept[first:num_kept], kept_classes, boxes[start:stop],
                              classes[start:stop] if grouped else None, beta)
            # Only the survivors of the earlier blocks take part inside the block:
            # past the first blocks most boxes duplicate kept ones, and the block's
            # own matrix shrinks with them.
            alive = alive[best < iou_threshold]
        candidates = boxes[alive]
        candidate_classes = classes[alive] if grouped else None
        diou = _block_diou(candidates, candidate_classes, beta)
        alive = alive[_greedy_within(diou, iou_threshold)]
        keep[alive] = True
        kept[num_kept:num_kept + len(alive)] = boxes[alive]
        kept_groups[num_kept:num_kept + len(alive)] = groups[alive]
        num_kept += len(alive)
        # A block costs kept x block + survivors^2 pairs: the next one grows (fewer
        # blocks, less overhead) as far as about BLOCK_SIZE of it should survive.
        survived = max(len(candidates), 1)
        start, block_size = stop, min(MAX_BLOCK_SIZE, max(
            BLOCK_SIZE, BLOCK_SIZE * (stop - start) // survived))
    if not grouped:
        return order[keep]
    # back to decreasing score order over all groups, ties in input order
    kept_in_score_order = torch.zeros_like(keep)
    kept_in_score_order[by_group[keep]] = True
    return score_order[kept_in_score_order]


def _best_diou(kept: Tensor, kept_classes: Optional[Tensor], block: Tensor,
               block_classes: Optional[Tensor], beta: float) -> Tensor:
    """``(b,)``: the largest criterion of each block box against the kept boxes, in
    chunks of at most :data:`MAX_PAIRS` pairs."""
    rows = max(1, MAX_PAIRS // block.shape[0])
    best = None
    for start in range(0, kept.shape[0], rows):
        chunk_best = _best_diou_chunk(
            kept[start:start + rows],
            kept_classes[start:start + rows] if kept_classes is not None else None,
            block, block_classes, beta)
        best = chunk_best if best is None else torch.maximum(best, chunk_best)
    return best


def diou_nms(boxes: Tensor, scores: Tensor, iou_threshold: float,
             beta: float = 1.0) -> Tensor:
    r"""DIoU-NMS (arXiv:1911.08287): greedy NMS that suppresses a box only when
    :math:`IoU - (\rho^2 / c^2)^{\beta} \ge` ``iou_threshold`` with a kept box.

    Args:
        boxes: ``(N, 4)`` boxes, x1y1x2y2 (any real dtype; half precision and integers
            are computed in float32). Zero-area and inverted boxes are legal: their
            IoU is 0 (see :mod:`~mmdet_losses.functional.location.geometry`).
        scores: ``(N,)`` scores; ties keep the input order.
        iou_threshold: in ``[0, 1]``.
        beta: ``> 0``; large values approach plain NMS.

    Returns:
        ``(K,)`` int64 indices of the kept boxes in decreasing score order, like
        ``torchvision.ops.nms``.
    """
    check_nms_inputs(boxes, scores, iou_threshold, beta)
    return _greedy_nms(boxes, scores, None, float(iou_threshold), float(beta))


def batched_diou_nms(boxes: Tensor, scores: Tensor, idxs: Tensor,
                     iou_threshold: float, beta: float = 1.0) -> Tensor:
    r"""DIoU-NMS within each class: boxes of different ``idxs`` never suppress each
    other.

    The classes share one greedy pass, and a suppression entry counts only where the
    two classes are equal. That is exact, unlike shifting each class by an offset
    (torchvision's and mmcv's trick): an offset keeps the classes apart for the IoU,
    but it rounds the coordinates of large class indices, and the penalty
    :math:`(\rho^2/c^2)^\beta` of two far-apart classes underflows to 0 for large
    :math:`\beta`, so that at threshold 0 they would suppress each other.

    Args:
        boxes: ``(N, 4)`` boxes, x1y1x2y2.
        scores: ``(N,)`` scores.
        idxs: ``(N,)`` integer class (or image) index of each box.
        iou_threshold: in ``[0, 1]``.
        beta: ``> 0``.

    Returns:
        ``(K,)`` int64 indices of the kept boxes in decreasing score order.
    """
    check_nms_inputs(boxes, scores, iou_threshold, beta, idxs)
    return _greedy_nms(boxes, scores, idxs, float(iou_threshold), float(beta))
