"""Registered Normalized Gaussian Wasserstein Distance loss, for tiny objects:
decoded ``(N, 4)`` boxes; ``'none'`` gives ``(N,)``. Not of the ``1 - IoU + penalty``
form: no Alpha-IoU power, no IoU modifiers."""
from ..functional.compile import maybe_compiled
from ..functional.location.geometry import BOX_EPS
from ..functional.location.nwd import nwd_loss
from ..functional.validation import check_number
from ..registry import MODELS
from ..spec import LossSpec, Preset
from .base import BaseLoss


@MODELS.register_module()
class NWDLoss(BaseLoss):
    """Normalized Gaussian Wasserstein Distance loss, see
    :func:`~mmdet_losses.functional.nwd_loss`.

    Args:
        constant: ``C > 0``, about the mean absolute object size of the dataset
            (paper: 12.8 on AI-TOD).
        eps: ``> 0``, inside the square root.
    """

    spec = LossSpec(
        kind='box', paper='Wang et al., arXiv 2110.13389', page='nwd',
        use='tiny objects', presets=(
            Preset('nwd', dict(constant=12.8),
                   'Normalized Gaussian Wasserstein distance (Wang et al., '
                   'arXiv:2110.13389) for tiny objects; constant=12.8 px is the '
                   "paper's value (AI-TOD mean object size)."), ))

    element_dims = 1

    loss_fn = staticmethod(maybe_compiled(nwd_loss))

    def __init__(self, constant: float = 12.8, eps: float = BOX_EPS,
                 reduction: str = 'mean', loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.constant = check_number('constant', constant, low=0.0, low_open=True)
        self.eps = check_number('eps', eps, low=0.0, low_open=True)

    def loss_kwargs(self):
        return {'constant': self.constant, 'eps': self.eps}
