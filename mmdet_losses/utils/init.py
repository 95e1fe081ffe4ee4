"""Prior-probability initialisation of a softmax classification head.

A dense head starts with an overwhelming majority of background anchors or points.
RetinaNet's remedy for sigmoid classifiers (Lin et al., arXiv:1708.02002, sec. 3.3)
is a bias of ``-log((1 - pi) / pi)`` on every class logit, so that every class starts
at probability ``pi = 0.01``. MMDetection's heads apply that bias to every output
channel, which for a softmax over C + 1 logits (``use_sigmoid=False``) gives equal
logits: a uniform 1 / (C + 1) for background too. The loss then starts at
``ln(C + 1)`` on every one of ~10^5 background anchors, divided by ~10^2 positives,
and the first updates are dominated by teaching the head that most things are
background.

:class:`SoftmaxPriorInit` sets the softmax counterpart: logits
``log(pi / C)`` for the C classes and ``log(1 - pi)`` for background, so that the
softmax starts at exactly ``pi / C`` per class and ``1 - pi`` for background.
"""
import math

from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.model import normal_init
from mmengine.registry import Registry
from torch import nn

WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMDET_WEIGHT_INITIALIZERS, scope='mmdet_losses')
# The final classification conv of the heads this package's configs use.
CLS_CONV_NAMES = ('retina_cls', 'conv_cls')


@WEIGHT_INITIALIZERS.register_module()
class SoftmaxPriorInit:
    """Initialise a dense head's softmax classifier at a background prior.

    Use as the last entry of the head's ``init_cfg``, after the usual conv init::

        init_cfg=[dict(type='Normal', layer='Conv2d', std=0.01),
                  dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01)]

    Args:
        prior_prob: ``pi``, the total foreground probability at the start.
        std: standard deviation of the classification conv's weights.

    Applied to the head (not to a layer), it finds the classification conv
    (``retina_cls`` or ``conv_cls``) and reads ``cls_out_channels`` (C + 1, background
    last, per anchor) from the head, so nothing is repeated in the config.
    """

    def __init__(self, prior_prob: float = 0.01, std: float = 0.01) -> None:
        if not 0.0 < prior_prob < 1.0:
            raise ValueError(f'prior_prob must be in (0, 1), got {prior_prob}')
        if std < 0:
            raise ValueError(f'std must be >= 0, got {std}')
        self.prior_prob = prior_prob
        self.std = std
        self.wholemodule = False  # set by mmengine's initialize()

    def __call__(self, head: nn.Module) -> None:
        if getattr(head, 'use_sigmoid_cls', True):
            raise ValueError(
                f'SoftmaxPriorInit is for softmax heads (use_sigmoid=False in '
                f'loss_cls); {type(head).__name__} uses a sigmoid classifier')
        conv = next((getattr(head, name) for name in CLS_CONV_NAMES
                     if isinstance(getattr(head, name, None), nn.Conv2d)), None)
        if conv is None:
            raise ValueError(f'{type(head).__name__} has none of the classification '
                             f'convs {CLS_CONV_NAMES}')
        channels = head.cls_out_channels
        if conv.out_channels % channels:
            raise ValueError(f'{conv.out_channels} output channels are not a multiple '
                             f'of cls_out_channels={channels}')
        num_classes = channels - 1
        normal_init(conv, std=self.std, bias=0.0)
        bias = conv.bias.data.view(-1, channels)
        bias[:, :num_classes] = math.log(self.prior_prob / num_classes)
        bias[:, num_classes] = math.log(1.0 - self.prior_prob)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prior_prob={self.prior_prob}, '
                f'std={self.std})')
