"""Pure-torch loss functions (no mmdet import): element-wise losses, the reduction
core and the box geometry core.

``category/`` and ``location/`` hold the plain references (autograd, one formula
each), ``fused/`` the kernels that compute a reduced loss in one pass with a
hand-derived gradient, tested against them; the references import only the shared
modules here (the dtype rule, the argument checks, the reduction, GHM's gradient
density), never the kernels.
"""
from .category.cross_entropy import binary_cross_entropy, softmax_cross_entropy
from .category.focal import sigmoid_focal_loss, softmax_focal_loss
from .category.ghmc import ghmc_loss
from .category.labels import one_hot
from .category.quality import quality_focal_loss, varifocal_loss
from .compile import get_compile, maybe_compiled, set_compile
from .fused.focal import sigmoid_focal_loss_sum
from .fused.iou import iou_family_sum
from .fused.quality import quality_focal_loss_sum, varifocal_loss_sum
from .gradient_density import ghm_edges, ghm_weights
from .location.coordinate import balanced_l1_loss, l1_loss, l2_loss, smooth_l1_loss
from .location.distribution import distribution_focal_loss
from .location.geometry import BoxTerms, aligned_box_terms
from .location.ghmr import asl1_loss, ghmr_loss
from .location.iou import (ciou_loss, diou_loss, eiou_loss, giou_loss, iou_loss,
                           wiou_loss)
from .location.iou_corners import mpdiou_loss, piou_loss
from .location.iou_shape import shape_iou_loss, siou_loss
from .location.nwd import nwd_loss
from .reduction import reduce_loss, reduce_sum, weight_reduce_loss

__all__ = [
    'BoxTerms', 'aligned_box_terms', 'binary_cross_entropy', 'one_hot',
    'sigmoid_focal_loss', 'softmax_cross_entropy', 'softmax_focal_loss',
    'quality_focal_loss', 'varifocal_loss', 'distribution_focal_loss', 'ghmc_loss',
    'quality_focal_loss_sum', 'varifocal_loss_sum', 'ghm_edges', 'ghm_weights',
    'get_compile', 'maybe_compiled', 'set_compile', 'sigmoid_focal_loss_sum', 'ciou_loss',
    'diou_loss', 'eiou_loss', 'giou_loss', 'iou_loss', 'nwd_loss', 'siou_loss',
    'wiou_loss', 'reduce_loss', 'reduce_sum', 'weight_reduce_loss', 'l1_loss',
    'l2_loss', 'smooth_l1_loss', 'mpdiou_loss', 'shape_iou_loss', 'piou_loss',
    'balanced_l1_loss', 'asl1_loss', 'ghmr_loss', 'iou_family_sum'
]
