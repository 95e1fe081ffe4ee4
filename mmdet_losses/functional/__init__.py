"""Pure-torch loss functions (no mmdet import): element-wise losses, the reduction
core and the box geometry core."""
from .box_geometry import BoxTerms, aligned_box_terms
from .classification import (binary_cross_entropy, one_hot, sigmoid_focal_loss,
                             softmax_cross_entropy, softmax_focal_loss)
from .compile import get_compile, maybe_compiled, set_compile
from .fused_focal import sigmoid_focal_loss_sum
from .fused_iou import iou_family_sum
from .fused_quality import quality_focal_loss_sum, varifocal_loss_sum
from .ghmc import ghm_edges, ghm_weights
from .quality import distribution_focal_loss, quality_focal_loss, varifocal_loss
from .ghm import asl1_loss, ghmr_loss
from .iou import (ciou_loss, diou_loss, eiou_loss, giou_loss, iou_loss, nwd_loss,
                  siou_loss, wiou_loss)
from .iou_frontier import mpdiou_loss, piou_loss, shape_iou_loss
from .reduction import reduce_loss, reduce_sum, weight_reduce_loss
from .regression import balanced_l1_loss, l1_loss, l2_loss, smooth_l1_loss

__all__ = [
    'BoxTerms', 'aligned_box_terms', 'binary_cross_entropy', 'one_hot',
    'sigmoid_focal_loss', 'softmax_cross_entropy', 'softmax_focal_loss',
    'quality_focal_loss', 'varifocal_loss', 'distribution_focal_loss',
    'quality_focal_loss_sum', 'varifocal_loss_sum', 'ghm_edges', 'ghm_weights',
    'get_compile', 'maybe_compiled', 'set_compile', 'sigmoid_focal_loss_sum', 'ciou_loss',
    'diou_loss', 'eiou_loss', 'giou_loss', 'iou_loss', 'nwd_loss', 'siou_loss',
    'wiou_loss', 'reduce_loss', 'reduce_sum', 'weight_reduce_loss', 'l1_loss',
    'l2_loss', 'smooth_l1_loss', 'mpdiou_loss', 'shape_iou_loss', 'piou_loss',
    'balanced_l1_loss', 'asl1_loss', 'ghmr_loss', 'iou_family_sum'
]
