"""Registered SCYLLA-IoU and Shape-IoU losses, the IoU losses with a shape cost: the
IoU-family contract of :class:`~.iou.IoUFamilyLoss` (``eps``, ``alpha``,
``inner_ratio``, ``focaler_range``) around
:mod:`mmdet_losses.functional.location.iou_shape`. Decoded ``(N, 4)`` boxes;
``'none'`` gives ``(N,)``."""
from typing import Optional, Sequence

from ..functional.compile import maybe_compiled
from ..functional.location.geometry import BOX_EPS
from ..functional.location.iou_shape import shape_iou_loss, siou_loss
from ..functional.validation import check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .iou import IoUFamilyLoss


@MODELS.register_module()
class SIoULoss(IoUFamilyLoss):
    """SCYLLA-IoU loss, see :func:`~mmdet_losses.functional.siou_loss`.

    Args:
        theta: shape-cost exponent, in ``[1, 10]`` (paper: 4).
    """

    spec = LossSpec(
        kind='box', paper='Gevorgyan, arXiv 2205.12740', page='siou',
        use='YOLO-style training', namesake='variant', presets=(
            Preset('siou', comment='SCYLLA-IoU loss (Gevorgyan, arXiv:2205.12740).'),
        ))

    loss_fn = staticmethod(maybe_compiled(siou_loss))

    def __init__(self, eps: float = BOX_EPS, alpha: float = 1.0, theta: float = 4.0,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        self.theta = check_number('theta', theta, 1.0, 10.0)

    def loss_kwargs(self):
        return {**super().loss_kwargs(), 'theta': self.theta}


@MODELS.register_module()
class ShapeIoULoss(IoUFamilyLoss):
    """Shape-IoU loss, see :func:`~mmdet_losses.functional.shape_iou_loss`.

    Args:
        scale: ``>= 0``, the exponent of the target-shape weights (0: equal
            weights).
        theta: shape-cost exponent, in ``[1, 10]`` (paper: 4).
        eps, alpha, inner_ratio, focaler_range, reduction, loss_weight: as for
            every IoU-family loss.
    """

    spec = LossSpec(
        kind='box', paper='Zhang and Zhang, arXiv 2312.17663', page='shape_iou',
        use="elongated targets: offsets weighted by the target's shape", presets=(
            Preset('shape-iou', dict(scale=0.0, theta=4.0),
                   'Shape-IoU (Zhang & Zhang, arXiv:2312.17663): distance and shape '
                   "costs weighted by the target's shape; scale=0 (equal weights) is "
                   "the paper's default, theta=4 its shape-cost exponent."), ))

    loss_fn = staticmethod(maybe_compiled(shape_iou_loss))

    def __init__(self, scale: float = 0.0, theta: float = 4.0, eps: float = BOX_EPS,
                 alpha: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0, inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        self.scale = check_number('scale', scale, low=0.0)
        self.theta = check_number('theta', theta, 1.0, 10.0)

    def loss_kwargs(self):
        return {**super().loss_kwargs(), 'scale': self.scale, 'theta': self.theta}
