"""Registered MPDIoU and Powerful-IoU losses, the penalties on corner distances: the
IoU-family contract of :class:`~.iou.IoUFamilyLoss` (``eps``, ``alpha``,
``inner_ratio``, ``focaler_range``) around
:mod:`mmdet_losses.functional.location.iou_corners`. Decoded ``(N, 4)`` boxes;
``'none'`` gives ``(N,)``."""
from typing import Optional, Sequence

from ..functional.compile import maybe_compiled
from ..functional.location import iou_corners as F_corners
from ..functional.location.geometry import BOX_EPS
from ..functional.validation import check_choice, check_image_size, check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .iou import IoUFamilyLoss


@MODELS.register_module()
class MPDIoULoss(IoUFamilyLoss):
    """Minimum Point Distance IoU loss, see
    :func:`~mmdet_losses.functional.mpdiou_loss`.

    Args:
        image_size: ``(W, H)``, required, each ``> 0``: the size of the network's
            input images after resize and padding, the paper's normaliser
            (``(1333, 800)`` for MMDetection's 1x COCO pipeline).
        eps, alpha, inner_ratio, focaler_range, reduction, loss_weight: as for
            every IoU-family loss.
    """

    spec = LossSpec(
        kind='box', paper='Ma and Xu, arXiv 2307.07662', page='mpdiou',
        use='decoded boxes of one fixed input size; size and position in one penalty',
        presets=(
            Preset('mpdiou', dict(image_size=(1333, 800)),
                   'MPDIoU (Ma & Xu, arXiv:2307.07662): 1 - IoU plus the squared '
                   'distances of the top-left and bottom-right corners over '
                   "W^2 + H^2. The paper's W, H are the input image's size: the "
                   'network sees COCO images resized to fit 1333 x 800 (keep ratio) '
                   'and padded, so (1333, 800) is the input size of the 1x COCO '
                   'pipeline.'), ))

    loss_fn = staticmethod(maybe_compiled(F_corners.mpdiou_loss))

    def __init__(self, image_size: Sequence[float], eps: float = BOX_EPS,
                 alpha: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0, inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        self.image_size = check_image_size(image_size)

    def loss_kwargs(self):
        return {'image_size': self.image_size, **super().loss_kwargs()}


@MODELS.register_module()
class PIoULoss(IoUFamilyLoss):
    """Powerful-IoU loss v1 / v2, see :func:`~mmdet_losses.functional.piou_loss`.

    Args:
        version: ``'v1'`` or ``'v2'`` (non-monotonic attention).
        focus_lambda: v2's ``lambda > 0`` (paper: 1.3).
        eps, alpha, inner_ratio, focaler_range, reduction, loss_weight: as for
            every IoU-family loss.
    """

    spec = LossSpec(
        kind='box', paper='Liu et al., Neural Networks 2024 (Powerful-IoU)',
        page='piou',
        use='boxes far from their targets; v2 focuses on medium-quality boxes',
        summary='v1, v2', presets=(
            Preset('piou', dict(version='v1'),
                   'Powerful-IoU v1 (Liu et al., Neural Networks 2024): 1 - IoU plus '
                   'the target-size-adaptive penalty 1 - exp(-P^2).'),
            Preset('piou-v2', dict(version='v2', focus_lambda=1.3),
                   'Powerful-IoU v2 (Liu et al., Neural Networks 2024): PIoU v1 times '
                   "the non-monotonic attention u(lambda q); lambda=1.3 is the "
                   "paper's value.")))

    loss_fn = staticmethod(maybe_compiled(F_corners.piou_loss))

    def __init__(self, version: str = 'v1', focus_lambda: float = 1.3,
                 eps: float = BOX_EPS, alpha: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0, inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        self.version = check_choice('version', version, F_corners.PIOU_VERSIONS)
        self.focus_lambda = check_number('focus_lambda', focus_lambda, low=0.0,
                                         low_open=True)

    def loss_kwargs(self):
        return {**super().loss_kwargs(), 'version': self.version,
                'focus_lambda': self.focus_lambda}

