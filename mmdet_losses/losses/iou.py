"""Registered IoU-family location losses: the family's contract
(:class:`IoUFamilyLoss`) and IoU, GIoU, DIoU, CIoU, EIoU and Wise-IoU (SIoU and
Shape-IoU are :mod:`.iou_shape`'s, MPDIoU and PIoU :mod:`.iou_corners`', NWD
:mod:`.nwd`'s).

Every loss of the ``1 - IoU + penalty`` form (IoU in ``'linear'`` mode, GIoU, DIoU,
CIoU, EIoU, SIoU, MPDIoU, Shape-IoU, PIoU) takes ``inner_ratio`` (Inner-IoU) and
``focaler_range`` (Focaler-IoU), see
:mod:`mmdet_losses.functional.location.modifiers`.

``pred`` and ``target`` are ``(N, 4)`` decoded boxes (x1y1x2y2), so RetinaNet-style
heads need ``reg_decoded_bbox=True``. ``weight`` may be ``(N,)`` (FCOS's centerness)
or ``(N, 4)`` (RetinaHead's box weights, averaged per box); ``'none'`` gives ``(N,)``.
Each loss runs compiled where a compiler is available
(:mod:`mmdet_losses.functional.compile`).
"""
import warnings
from typing import Optional, Sequence

import torch

from ..functional.compile import maybe_compiled
from ..functional.fused.iou import fused_kernel_for, iou_family_reduce
from ..functional.location import iou as F_iou
from ..functional.location.geometry import BOX_EPS
from ..functional.validation import (check_choice, check_iou_mode,
                                     check_iou_modifiers, check_modifiable_mode,
                                     check_number)
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .base import BaseLoss


class IoUFamilyLoss(BaseLoss):
    """``eps``, the Alpha-IoU power ``alpha`` and the IoU modifiers shared by the
    family.

    Args:
        eps: ``> 0``, added to every denominator.
        alpha: ``> 0``, the Alpha-IoU power.
        reduction, loss_weight: as every loss.
        inner_ratio: ``None`` or ``> 0``: Inner-IoU's auxiliary-box scale.
        focaler_range: ``None`` or ``(d, u)`` with ``0 <= d < u <= 1``: Focaler-IoU.
    """

    element_dims = 1  # (N, 4) boxes -> (N,) losses

    def __init__(self, eps: float = BOX_EPS, alpha: float = 1.0,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = check_number('eps', eps, low=0.0, low_open=True)
        self.alpha = check_number('alpha', alpha, low=0.0, low_open=True)
        self.inner_ratio, self.focaler_range = check_iou_modifiers(inner_ratio,
                                                                   focaler_range)

    def loss_kwargs(self):
        kwargs = {'eps': self.eps, 'alpha': self.alpha}
        # only when set: the plain losses keep their keyword arguments
        if self.inner_ratio is not None:
            kwargs['inner_ratio'] = self.inner_ratio
        if self.focaler_range is not None:
            kwargs['focaler_range'] = self.focaler_range
        return kwargs

    def weighted_loss(self, pred, target, weight, reduction, avg_factor, **kwargs):
        """``'mean'``/``'sum'`` of a loss and options that a fused kernel covers
        (:func:`~mmdet_losses.functional.fused.iou.fused_kernel_for`) run fused;
        the rest element-wise."""
        options = {**self.loss_kwargs(), **kwargs}
        kernel = fused_kernel_for(type(self).loss_fn, options, weight, reduction,
                                  pred.device.type)
        if kernel is None:
            return super().weighted_loss(pred, target, weight, reduction, avg_factor,
                                         **kwargs)
        return iou_family_reduce(kernel, pred, target, weight, reduction, avg_factor,
                                 **options)


@MODELS.register_module()
class IoULoss(IoUFamilyLoss):
    """IoU loss (UnitBox), see :func:`~mmdet_losses.functional.iou_loss`.

    Args:
        mode: ``'log'`` (FCOS), ``'linear'`` or ``'square'``.
        eps, alpha, reduction, loss_weight, inner_ratio, focaler_range: as for
            every IoU-family loss; ``alpha`` other than 1 and the modifiers need
            ``mode='linear'``.
        linear: MMDetection's deprecated spelling of ``mode='linear'`` (its Cascade
            RPN configs use it): ``True`` sets the mode to ``'linear'``, whatever
            ``mode`` says, with a ``DeprecationWarning``, as MMDetection does.
    """

    spec = LossSpec(
        kind='box', paper='Yu et al., UnitBox, arXiv 1608.01471', page='iou',
        use='FCOS-style point heads', summary="`mode='log'`, `'linear'`, `'square'`",
        namesake='same', presets=(
            Preset('iou', dict(mode='log'),
                   'IoU loss -log(IoU) (UnitBox, arXiv:1608.01471), the loss of the '
                   "FCOS paper and MMDetection's IoULoss default."), ))

    loss_fn = staticmethod(maybe_compiled(F_iou.iou_loss))

    def __init__(self, mode: str = 'log', eps: float = BOX_EPS, alpha: float = 1.0,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None,
                 linear: bool = False) -> None:
        if linear:
            warnings.warn("IoULoss: linear=True is deprecated, use mode='linear'",
                          DeprecationWarning, stacklevel=2)
            mode = 'linear'
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        check_iou_mode(mode, self.alpha)
        if inner_ratio is not None or focaler_range is not None:
            check_modifiable_mode(mode, inner_ratio, focaler_range)
        self.mode = mode

    def loss_kwargs(self):
        return {'mode': self.mode, **super().loss_kwargs()}


@MODELS.register_module()
class GIoULoss(IoUFamilyLoss):
    """Generalized IoU loss, see :func:`~mmdet_losses.functional.giou_loss`."""

    spec = LossSpec(
        kind='box', paper='Rezatofighi et al., CVPR 2019, arXiv 1902.09630',
        page='giou', use='the safe default for decoded boxes', namesake='same',
        presets=(
            Preset('giou', comment='Generalized IoU loss (Rezatofighi et al., '
                   'arXiv:1902.09630).'),
            Preset('alpha-giou', dict(alpha=3.0),
                   'Alpha-GIoU (He et al., arXiv:2110.13675): the GIoU terms raised to '
                   'the power alpha=3, the value the paper recommends.'),
            Preset('inner-giou', dict(inner_ratio=0.7),
                   'Inner-GIoU (Zhang et al., arXiv:2311.02877): GIoU + IoU - IoU of '
                   'auxiliary boxes scaled by inner_ratio about their centres. A ratio '
                   'below 1 sharpens the loss for the high-IoU samples of a general '
                   'dataset (above 1 helps low-IoU, tiny objects); 0.7 is untuned.'),
            Preset('focaler-giou', dict(focaler_range=(0.0, 0.95)),
                   'Focaler-GIoU (Zhang & Zhang, arXiv:2401.10525): GIoU + IoU - IoU '
                   "mapped linearly from [d, u] onto [0, 1]; (0.0, 0.95), the official "
                   "code's default, saturates the IoU term of near-perfect boxes.")))

    loss_fn = staticmethod(maybe_compiled(F_iou.giou_loss))


@MODELS.register_module()
class DIoULoss(IoUFamilyLoss):
    """Distance-IoU loss, see :func:`~mmdet_losses.functional.diou_loss`."""

    spec = LossSpec(
        kind='box', paper='Zheng et al., AAAI 2020, arXiv 1911.08287', page='diou',
        use='decoded boxes, a centre pull that also acts on nested boxes',
        namesake='same', presets=(
            Preset('diou', comment='Distance-IoU loss (Zheng et al., '
                   'arXiv:1911.08287).'), ))

    loss_fn = staticmethod(maybe_compiled(F_iou.diou_loss))


@MODELS.register_module()
class CIoULoss(IoUFamilyLoss):
    """Complete-IoU loss, see :func:`~mmdet_losses.functional.ciou_loss`.

    Args:
        aspect_iou_threshold: ``None`` (default, the AAAI paper's form) or an IoU
            below which the aspect-ratio term is off: ``0.5`` reproduces
            MMDetection's ``CIoULoss``.
    """

    spec = LossSpec(
        kind='box', paper='Zheng et al., AAAI 2020, arXiv 1911.08287', page='ciou',
        use='decoded boxes whose aspect ratio matters', namesake='variant',
        presets=(
            Preset('ciou', comment='Complete-IoU loss (Zheng et al., '
                   'arXiv:1911.08287).'), ))

    loss_fn = staticmethod(maybe_compiled(F_iou.ciou_loss))

    def __init__(self, eps: float = BOX_EPS, alpha: float = 1.0,
                 aspect_iou_threshold: Optional[float] = None,
                 reduction: str = 'mean', loss_weight: float = 1.0,
                 inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        if aspect_iou_threshold is not None:
            aspect_iou_threshold = check_number('aspect_iou_threshold',
                                                aspect_iou_threshold, 0.0, 1.0)
        self.aspect_iou_threshold = aspect_iou_threshold

    def loss_kwargs(self):
        return {**super().loss_kwargs(),
                'aspect_iou_threshold': self.aspect_iou_threshold}


@MODELS.register_module()
class EIoULoss(IoUFamilyLoss):
    """Efficient-IoU loss and Focal-EIoU, see
    :func:`~mmdet_losses.functional.eiou_loss`. Not MMDetection's ``EIoULoss``
    (Extended-IoU).

    Args:
        focal_gamma: ``None`` or ``> 0`` for Focal-EIoU (paper: 0.5).
    """

    spec = LossSpec(
        kind='box', paper='Zhang et al., arXiv 2101.08158', page='eiou',
        use='boxes of the right shape but the wrong size',
        summary='Efficient-IoU, Focal-EIoU', namesake='variant', presets=(
            Preset('eiou', comment='Efficient-IoU loss (Zhang et al., '
                   'arXiv:2101.08158), without the focal term.'),
            Preset('focal-eiou', dict(focal_gamma=0.5),
                   'Focal-EIoU (Zhang et al., arXiv:2101.08158): EIoU weighted by '
                   'IoU^gamma, gamma=0.5 as in the paper.')))

    loss_fn = staticmethod(maybe_compiled(F_iou.eiou_loss))

    def __init__(self, eps: float = BOX_EPS, alpha: float = 1.0,
                 focal_gamma: Optional[float] = None, reduction: str = 'mean',
                 loss_weight: float = 1.0, inner_ratio: Optional[float] = None,
                 focaler_range: Optional[Sequence[float]] = None) -> None:
        super().__init__(eps, alpha, reduction, loss_weight, inner_ratio,
                         focaler_range)
        if focal_gamma is not None:
            focal_gamma = check_number('focal_gamma', focal_gamma, low=0.0,
                                       low_open=True)
        self.focal_gamma = focal_gamma

    def loss_kwargs(self):
        return {**super().loss_kwargs(), 'focal_gamma': self.focal_gamma}


# Official Wise-IoU momentum: the running mean's weight halves in 7000 updates.
WIOU_MOMENTUM = 1 - 0.5**(1 / 7000)


@MODELS.register_module()
class WIoULoss(IoUFamilyLoss):
    """Wise-IoU v1 / v2 / v3, see :func:`~mmdet_losses.functional.wiou_loss`.

    v2 and v3 keep the running mean of the IoU loss ``L_IoU`` in the buffer
    ``iou_loss_mean`` (saved in checkpoints, broadcast by DDP), updated in training
    mode from each batch's weighted mean before the loss is computed:
    ``mean <- (1 - momentum) mean + momentum * batch_mean``.

    Args:
        version: ``'v1'``, ``'v2'`` (monotonic focusing) or ``'v3'``
            (non-monotonic).
        gamma: v2's exponent, ``> 0`` (paper and official code: 0.5).
        focus_alpha, focus_delta: v3's ``alpha`` and ``delta`` (paper: 1.9, 3).
        momentum: of the running mean, in ``(0, 1]``; the default is the official
            ``1 - 0.5 ** (1 / 7000)``.
    """

    spec = LossSpec(
        kind='box', paper='Tong et al., arXiv 2301.10051', page='wiou',
        use='noisy or ambiguous box labels', summary='v1, v2, v3', presets=(
            Preset('wiou', dict(version='v3'),
                   'Wise-IoU v3 (Tong et al., arXiv:2301.10051): v1 with the dynamic '
                   'non-monotonic focusing coefficient, the variant the paper '
                   'recommends.', file='wiou-v3'),
            Preset('wiou-v1', dict(version='v1'),
                   'Wise-IoU v1 (Tong et al., arXiv:2301.10051): IoU loss scaled by a '
                   'centre-distance attention term.'),
            Preset('wiou-v2', dict(version='v2', gamma=0.5),
                   'Wise-IoU v2 (Tong et al., arXiv:2301.10051): v1 times the '
                   'monotonic focusing coefficient (L_IoU / running mean)^gamma, '
                   "gamma=0.5 as in the paper's code.")))

    loss_fn = staticmethod(maybe_compiled(F_iou.wiou_loss))

    def __init__(self, version: str = 'v3', eps: float = BOX_EPS, alpha: float = 1.0,
                 focus_alpha: float = 1.9, focus_delta: float = 3.0,
                 momentum: float = WIOU_MOMENTUM, reduction: str = 'mean',
                 loss_weight: float = 1.0, gamma: float = 0.5) -> None:
        super().__init__(eps, alpha, reduction, loss_weight)
        self.version = check_choice('version', version, ('v1', 'v2', 'v3'))
        self.gamma = check_number('gamma', gamma, low=0.0, low_open=True)
        self.focus_alpha = check_number('focus_alpha', focus_alpha, low=0.0,
                                        low_open=True)
        self.focus_delta = check_number('focus_delta', focus_delta, low=0.0,
                                        low_open=True)
        self.momentum = check_number('momentum', momentum, 0.0, 1.0, low_open=True)
        self.register_buffer('iou_loss_mean', torch.ones(()))

    def loss_kwargs(self):
        kwargs = super().loss_kwargs()
        # a snapshot: the buffer changes in place at the next call (a head calls the
        # loss once per level before backward), and a compiled graph may keep its
        # input for the backward pass
        mean = self.iou_loss_mean.clone()
        if self.version == 'v2':
            kwargs.update(iou_loss_mean=mean, focus_gamma=self.gamma)
        elif self.version == 'v3':
            kwargs.update(iou_loss_mean=mean, focus_alpha=self.focus_alpha,
                          focus_delta=self.focus_delta)
        return kwargs

    def extra_repr(self) -> str:
        return (f"version='{self.version}', reduction='{self.reduction}', "
                f'loss_weight={self.loss_weight}, eps={self.eps}, alpha={self.alpha}')

    def weighted_loss(self, pred, target, weight, reduction, avg_factor, **kwargs):
        if self.version != 'v1' and self.training and pred.numel():
            self._update_mean(pred, target, weight)
        return super().weighted_loss(pred, target, weight, reduction, avg_factor,
                                     **kwargs)

    @torch.no_grad()
    def _update_mean(self, pred, target, weight) -> None:
        plain = F_iou.iou_loss(pred.detach(), target, mode='linear', eps=self.eps,
                               alpha=self.alpha).float()
        if weight is None:
            batch_mean = plain.mean()
        else:
            box_weight = weight.float()
            if box_weight.dim() == plain.dim() + 1:
                box_weight = box_weight.mean(-1)
            box_weight = box_weight.expand_as(plain)
            total_weight = box_weight.sum()
            batch_mean = (plain * box_weight).sum() / total_weight.clamp(min=1e-12)
            # no positive weight: keep the mean (torch.where, not a host sync)
            batch_mean = torch.where(total_weight > 0, batch_mean,
                                     self.iou_loss_mean)
        self.iou_loss_mean.mul_(1 - self.momentum).add_(self.momentum * batch_mean)
