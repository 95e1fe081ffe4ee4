"""Independent reference formulas for the location-loss tests.

* ``tv_*``: torchvision.ops' ``generalized_box_iou_loss``, ``distance_box_iou_loss``
  and ``complete_box_iou_loss`` as written in torchvision 0.16+ (torchvision itself
  does not import beside this CPU build of torch). Their masked intersection and the
  CIoU without eps inside ``atan`` are kept as they are.
* plain box quantities (IoU, centre distance, enclosing diagonal, CIoU's ``v``) used to
  spell out the gradients that the papers prescribe for terms held constant.
* the degenerate box pairs and the kinks of the plain forms, which the location
  tests and ``benchmarks/gpu_check.py`` (torch only, no mmdet) both feed the losses.
"""
import math

import torch
from torch import Tensor

# name -> (pred, target). Inverted boxes have x2 < x1 (zero area by definition).
DEGENERATE_PAIRS = {
    'coincident': ((0, 0, 10, 10), (0, 0, 10, 10)),
    'nested': ((4, 4, 6, 6), (0, 0, 10, 10)),
    'disjoint': ((500, 500, 510, 510), (0, 0, 10, 10)),
    'touching_corner': ((10, 10, 20, 20), (0, 0, 10, 10)),
    'zero_width_pred': ((3, 3, 3, 8), (0, 0, 10, 10)),
    'zero_area_target': ((0, 0, 10, 10), (2, 2, 2, 2)),
    'coincident_points': ((5, 5, 5, 5), (5, 5, 5, 5)),
    'inverted_inside': ((8, 8, 2, 2), (0, 0, 10, 10)),
    # an inverted box whose centre lies far outside the other box
    'inverted_far': ((1000, 1000, 0, 0), (0, 0, 10, 10)),
    'tiny': ((0, 0, 1e-3, 1e-3), (0, 0, 2e-3, 1e-3)),
    'huge_overlap': ((0, 0, 1e4, 1e4), (1e3, 2e3, 9e3, 1e4)),
    'huge_disjoint': ((0, 0, 1e4, 1e4), (2e4, 2e4, 3e4, 3e4)),
}

# Pairs on the kinks of the plain form (ties of min/max, clamps at their bound,
# |.| at 0).
KINK_PAIRS = {
    'shared_right_edge': ((0, 0, 10, 10), (5, 2, 10, 8)),      # min/max ties
    'same_column': ((2, 0, 6, 4), (2, 1, 6, 9)),               # w = w^gt, o_x = 0
    'touching_edge': ((0, 0, 5, 5), (5, 0, 10, 5)),            # i_w = 0 exactly
    'same_centre_x': ((0, 0, 4, 4), (1, 3, 3, 9)),             # o_x = 0
    'same_height_disjoint': ((0, 0, 2, 3), (7, 0, 8, 3)),      # h = h^gt
    'inverted_both': ((4, 4, 1, 1), (9, 9, 6, 6)),
    'point_on_edge': ((10, 5, 10, 5), (0, 0, 10, 10)),
}


def pair_batch(pairs, dtype=torch.float64):
    """``(names, pred, target)`` of a ``name -> (pred box, target box)`` dict, the
    boxes as ``(N, 4)`` tensors."""
    names = list(pairs)
    pred = torch.tensor([pairs[n][0] for n in names], dtype=dtype)
    target = torch.tensor([pairs[n][1] for n in names], dtype=dtype)
    return names, pred, target


def _tv_inter_union(boxes1: Tensor, boxes2: Tensor):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1 = torch.max(x1, x1g)
    ykis1 = torch.max(y1, y1g)
    xkis2 = torch.min(x2, x2g)
    ykis2 = torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def tv_generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor,
                                eps: float = 1e-7) -> Tensor:
    intsctk, unionk = _tv_inter_union(boxes1, boxes2)
    iouk = intsctk / (unionk + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = torch.min(x1, x1g)
    yc1 = torch.min(y1, y1g)
    xc2 = torch.max(x2, x2g)
    yc2 = torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    return 1 - miouk


def _tv_diou_iou_loss(boxes1: Tensor, boxes2: Tensor, eps: float = 1e-7):
    intsct, union = _tv_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1 = torch.min(x1, x1g)
    yc1 = torch.min(y1, y1g)
    xc2 = torch.max(x2, x2g)
    yc2 = torch.max(y2, y2g)
    diagonal_distance_squared = ((xc2 - xc1)**2) + ((yc2 - yc1)**2) + eps
    x_p = (x2 + x1) / 2
    y_p = (y2 + y1) / 2
    x_g = (x1g + x2g) / 2
    y_g = (y1g + y2g) / 2
    centers_distance_squared = ((x_p - x_g)**2) + ((y_p - y_g)**2)
    loss = 1 - iou + (centers_distance_squared / diagonal_distance_squared)
    return loss, iou


def tv_distance_box_iou_loss(boxes1: Tensor, boxes2: Tensor,
                             eps: float = 1e-7) -> Tensor:
    return _tv_diou_iou_loss(boxes1, boxes2, eps)[0]


def tv_complete_box_iou_loss(boxes1: Tensor, boxes2: Tensor,
                             eps: float = 1e-7) -> Tensor:
    diou_loss, iou = _tv_diou_iou_loss(boxes1, boxes2, eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    w_pred = x2 - x1
    h_pred = y2 - y1
    w_gt = x2g - x1g
    h_gt = y2g - y1g
    v = (4 / (math.pi**2)) * torch.pow(
        (torch.atan(w_gt / h_gt) - torch.atan(w_pred / h_pred)), 2)
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou_loss + alpha * v


def centre_distance_sq(pred: Tensor, target: Tensor) -> Tensor:
    """rho^2 of well-formed boxes."""
    centre_pred = (pred[:, :2] + pred[:, 2:]) / 2
    centre_target = (target[:, :2] + target[:, 2:]) / 2
    return ((centre_pred - centre_target)**2).sum(-1)


def enclosing_diag_sq(pred: Tensor, target: Tensor) -> Tensor:
    """c^2 of well-formed boxes."""
    size = torch.max(pred[:, 2:], target[:, 2:]) - torch.min(pred[:, :2], target[:, :2])
    return (size**2).sum(-1)


def aspect_term(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """CIoU's v = 4/pi^2 (atan(wg/hg) - atan(w/h))^2 (eps as in the package)."""
    w, h = (pred[:, 2:] - pred[:, :2]).unbind(-1)
    wg, hg = (target[:, 2:] - target[:, :2]).unbind(-1)
    return 4 / math.pi**2 * (torch.atan(wg / (hg + eps)) - torch.atan(w / (h + eps)))**2


# ------------------------------------------- the official codes' formulas, re-derived
# Written from the published definitions for well-formed x1y1x2y2 boxes, without the
# package's geometry core, so that the losses can be checked against them.
def _sizes_and_iou(pred: Tensor, target: Tensor, eps: float = 1e-7):
    w, h = (pred[:, 2:] - pred[:, :2]).unbind(-1)
    wg, hg = (target[:, 2:] - target[:, :2]).unbind(-1)
    overlap = (torch.min(pred[:, 2:], target[:, 2:]) -
               torch.max(pred[:, :2], target[:, :2])).clamp(min=0)
    inter = overlap[:, 0] * overlap[:, 1]
    iou = inter / (w * h + wg * hg - inter + eps)
    return w, h, wg, hg, iou


def official_shape_iou_loss(pred: Tensor, target: Tensor, scale: float = 0.0,
                            eps: float = 1e-7) -> Tensor:
    """Shape-IoU as its official code computes it (shape-cost exponent fixed at 4)."""
    w, h, wg, hg, iou = _sizes_and_iou(pred, target, eps)
    ww = 2 * wg**scale / (wg**scale + hg**scale)
    hh = 2 * hg**scale / (wg**scale + hg**scale)
    dx, dy = (((pred[:, :2] + pred[:, 2:]) - (target[:, :2] + target[:, 2:])) / 2
              ).unbind(-1)
    c2 = (enclosing_diag_sq(pred, target) + eps)
    distance = (hh * dx**2 + ww * dy**2) / c2
    omega_w = hh * (w - wg).abs() / torch.max(w, wg)
    omega_h = ww * (h - hg).abs() / torch.max(h, hg)
    shape = (1 - torch.exp(-omega_w))**4 + (1 - torch.exp(-omega_h))**4
    return 1 - (iou - distance - 0.5 * shape)


def official_piou_loss(pred: Tensor, target: Tensor, v2: bool = False,
                       focus_lambda: float = 1.3, eps: float = 1e-7) -> Tensor:
    """Powerful-IoU v1 / v2 as the official code computes it: the penalty factor over
    the target's size, the attention differentiated."""
    _, _, wg, hg, iou = _sizes_and_iou(pred, target, eps)
    edge = (pred - target).abs()
    p = ((edge[:, 0] + edge[:, 2]) / wg + (edge[:, 1] + edge[:, 3]) / hg) / 4
    loss = 2 - iou - torch.exp(-p**2)
    if v2:
        x = focus_lambda * torch.exp(-p)
        loss = 3 * x * torch.exp(-x**2) * loss
    return loss


def inner_iou(pred: Tensor, target: Tensor, ratio: float, eps: float = 1e-7) -> Tensor:
    """IoU of the auxiliary boxes of Inner-IoU (both scaled by ``ratio`` about their
    centres), written with centres and sizes as the paper does."""
    def scaled(boxes):
        centre = (boxes[:, :2] + boxes[:, 2:]) / 2
        half = (boxes[:, 2:] - boxes[:, :2]) * ratio / 2
        return torch.cat([centre - half, centre + half], dim=1)
    return _sizes_and_iou(scaled(pred), scaled(target), eps)[-1]


def plain_iou(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    return _sizes_and_iou(pred, target, eps)[-1]
