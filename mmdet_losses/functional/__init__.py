"""Pure-torch loss functions (no mmdet import): element-wise losses, the reduction
core and the box geometry core."""
from .box_geometry import BoxTerms, aligned_box_terms
from .classification import (binary_cross_entropy, one_hot, sigmoid_focal_loss,
                             softmax_cross_entropy, softmax_focal_loss)
from .compile import get_compile, maybe_compiled, set_compile
from .fused_focal import sigmoid_focal_loss_sum
from .iou import (ciou_loss, diou_loss, eiou_loss, giou_loss, iou_loss, nwd_loss,
                  siou_loss, wiou_loss)
from .reduction import reduce_loss, reduce_sum, weight_reduce_loss
from .regression import l1_loss, l2_loss, smooth_l1_loss

__all__ = [
    'BoxTerms', 'aligned_box_terms', 'binary_cross_entropy', 'one_hot',
    'sigmoid_focal_loss', 'softmax_cross_entropy', 'softmax_focal_loss',
    'get_compile', 'maybe_compiled', 'set_compile', 'sigmoid_focal_loss_sum', 'ciou_loss',
    'diou_loss', 'eiou_loss', 'giou_loss', 'iou_loss', 'nwd_loss', 'siou_loss',
    'wiou_loss', 'reduce_loss', 'reduce_sum', 'weight_reduce_loss', 'l1_loss',
    'l2_loss', 'smooth_l1_loss'
]
