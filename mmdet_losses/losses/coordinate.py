"""Registered coordinate-wise location losses: ``L1Loss``, ``L2Loss``,
``SmoothL1Loss``, ``BalancedL1Loss`` (compiled where a compiler is available, see
:mod:`mmdet_losses.functional.compile`); GHM-R is :mod:`.ghm`'s.

Like every registered loss they compute, weight and reduce in float32 (float64 for
float64 input) and return that dtype (:mod:`mmdet_losses.functional.dtypes`): a
float16 squared error of 300 px (90000) is out of float16's range element-wise, but
its weighted mean is not, and a zero weight must give 0, not ``0 * inf = NaN``.
"""
from ..functional.compile import maybe_compiled
from ..functional.location.coordinate import (balanced_l1_loss, l1_loss, l2_loss,
                                              smooth_l1_loss)
from ..functional.validation import check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .base import BaseLoss


@MODELS.register_module()
class L1Loss(BaseLoss):
    """L1 loss, ``|pred - target|`` element-wise.

    Args:
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.

    Shapes: ``pred``, ``target`` ``(N, 4)`` (or any equal shapes); ``weight`` the same
    shape or ``(N,)`` for all coordinates of a box; ``'none'`` gives ``(N, 4)``.
    """

    spec = LossSpec(
        kind='coordinate', paper='textbook', page='l1',
        use="encoded deltas: MMDetection's RetinaNet and Faster R-CNN",
        namesake='same', presets=(
            Preset('l1', comment='L1 on the regression targets (deltas for RetinaNet, '
                   'ltrb distances for FCOS).'), ))

    loss_fn = staticmethod(maybe_compiled(l1_loss))


@MODELS.register_module()
class L2Loss(BaseLoss):
    """L2 loss, the squared error ``(pred - target)^2`` element-wise (MMDetection's
    ``MSELoss``). Arguments and shapes as :class:`L1Loss`."""

    spec = LossSpec(
        kind='coordinate', paper='textbook', page='l2',
        use='the squared-error baseline', namesake='other', presets=(
            Preset('l2', comment='L2 (squared error) on the regression targets; no '
                   'dense detector in the literature uses it, it is here as the '
                   'textbook baseline.'), ))

    loss_fn = staticmethod(maybe_compiled(l2_loss))


@MODELS.register_module()
class SmoothL1Loss(BaseLoss):
    """Smooth L1 loss (Fast R-CNN), see
    :func:`~mmdet_losses.functional.smooth_l1_loss`.

    Args:
        beta: ``>= 0``; below ``1e-5`` the loss is L1.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight: factor applied to the reduced loss.
    """

    spec = LossSpec(
        kind='coordinate', paper='Girshick, Fast R-CNN, ICCV 2015, arXiv 1504.08083',
        page='smooth_l1', use="encoded deltas, Detectron's RetinaNet (`beta = 0.11`)",
        namesake='same', presets=(
            Preset('smooth-l1', dict(beta=0.11),
                   'Smooth L1 (Fast R-CNN) with beta=0.11 (~1/9), the value of the '
                   "original Detectron RetinaNet and of MMDetection 1.x's RetinaNet "
                   'configs.'), ))

    loss_fn = staticmethod(maybe_compiled(smooth_l1_loss))

    def __init__(self, beta: float = 1.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta = check_number('beta', beta, low=0.0)

    def loss_kwargs(self):
        return {'beta': self.beta}


@MODELS.register_module()
class BalancedL1Loss(BaseLoss):
    """Balanced L1 loss (Libra R-CNN, arXiv 1904.02701), see
    :func:`~mmdet_losses.functional.balanced_l1_loss`; MMDetection's
    ``BalancedL1Loss`` in value and gradient.

    Args:
        alpha: ``> 0`` (paper: 0.5).
        gamma: ``> 0`` (paper: 1.5).
        beta: ``> 0`` (paper: 1.0).
        reduction, loss_weight: as :class:`L1Loss`.
    """

    spec = LossSpec(
        kind='coordinate',
        paper='Pang et al., Libra R-CNN, CVPR 2019, arXiv 1904.02701',
        page='balanced_l1', use='encoded deltas, more gradient for accurate samples',
        namesake='same', presets=(
            Preset('balanced-l1', dict(alpha=0.5, gamma=1.5, beta=0.11),
                   'Balanced L1 (Libra R-CNN, Pang et al., arXiv:1904.02701): '
                   "alpha=0.5, gamma=1.5 as in the paper; beta=0.11 is MMDetection's "
                   'Libra RetinaNet value (its Libra Faster R-CNN uses 1.0 on the RoI '
                   'head).'), ))

    loss_fn = staticmethod(maybe_compiled(balanced_l1_loss))

    def __init__(self, alpha: float = 0.5, gamma: float = 1.5, beta: float = 1.0,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.alpha = check_number('alpha', alpha, low=0.0, low_open=True)
        self.gamma = check_number('gamma', gamma, low=0.0, low_open=True)
        self.beta = check_number('beta', beta, low=0.0, low_open=True)

    def loss_kwargs(self):
        return {'alpha': self.alpha, 'gamma': self.gamma, 'beta': self.beta}
