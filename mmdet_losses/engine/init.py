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
It is registered by ``import mmdet_losses`` (the ``custom_imports`` entry every
config has). :func:`add_softmax_prior_init` makes it follow from the loss: every
dense head of a config whose ``loss_cls`` is a softmax loss gets it appended to its
``init_cfg``; the tools apply it to every config they start.
"""
import inspect
import math
from typing import Iterator, List, Optional, Tuple

from mmengine.model import normal_init
from torch import nn

from ..registry import WEIGHT_INITIALIZERS

PRIOR_INIT_TYPE = 'mmdet_losses.SoftmaxPriorInit'
# The heads' own init when a config gives none and the head class has no default.
FALLBACK_HEAD_INIT = dict(type='Normal', layer='Conv2d', std=0.01)


def softmax_head_init(prior_prob: float = 0.01) -> List[dict]:
    """The ``init_cfg`` of a dense head with a softmax classifier, as the softmax
    configs write it: the heads' conv init, then :class:`SoftmaxPriorInit`."""
    return [dict(FALLBACK_HEAD_INIT), dict(type=PRIOR_INIT_TYPE, prior_prob=prior_prob)]


def classification_convs(head: nn.Module) -> List[Tuple[str, nn.Conv2d]]:
    """The final classification convs of a dense head: ``nn.Conv2d`` modules with
    ``cls`` in their name and ``num_base_priors * cls_out_channels`` outputs
    (``retina_cls``, ``conv_cls``, ``atss_cls``, ``gfl_cls``, one per level for
    RTMDet's ``rtm_cls``, ...)."""
    channels = head.cls_out_channels * getattr(head, 'num_base_priors', 1)
    return [(name, module) for name, module in head.named_modules()
            if isinstance(module, nn.Conv2d) and _names_a_classifier(name)
            and module.out_channels == channels]


def _names_a_classifier(name: str) -> bool:
    parts = name.split('.')
    if len(parts) > 1 and parts[-1].isdigit():  # one conv per level: rtm_cls.0
        parts = parts[:-1]
    return 'cls' in parts[-1]


@WEIGHT_INITIALIZERS.register_module()
class SoftmaxPriorInit:
    """Initialise a dense head's softmax classifier at a background prior.

    Use as the last entry of the head's ``init_cfg``, after the usual conv init::

        init_cfg=[dict(type='Normal', layer='Conv2d', std=0.01),
                  dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01)]

    (:func:`add_softmax_prior_init` writes it for every softmax dense head.)

    Args:
        prior_prob: ``pi``, the total foreground probability at the start.
        std: standard deviation of the classification conv's weights.

    Applied to the head (not to a layer), it finds the classification convs
    (:func:`classification_convs`) and reads ``cls_out_channels`` (C + 1, background
    last, per prior) from the head, so nothing is repeated in the config.
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
        convs = classification_convs(head)
        if not convs:
            raise ValueError(
                f'{type(head).__name__} has no classification conv (a Conv2d named '
                f'*cls* with num_base_priors x cls_out_channels = '
                f'{getattr(head, "num_base_priors", 1)} x {head.cls_out_channels} '
                'outputs)')
        channels = head.cls_out_channels
        num_classes = channels - 1
        for _, conv in convs:
            normal_init(conv, std=self.std, bias=0.0)
            bias = conv.bias.data.view(-1, channels)
            bias[:, :num_classes] = math.log(self.prior_prob / num_classes)
            bias[:, num_classes] = math.log(1.0 - self.prior_prob)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prior_prob={self.prior_prob}, '
                f'std={self.std})')


# ----------------------------------------------------------------- config side

def is_softmax_loss(loss_cfg) -> bool:
    """A category loss config of this package with ``use_sigmoid=False``."""
    return isinstance(loss_cfg, dict) \
        and str(loss_cfg.get('type', '')).startswith('mmdet_losses.') \
        and loss_cfg.get('use_sigmoid', True) is False


def _init_types(init_cfg) -> List[str]:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [str(c.get('type', '')) for c in cfgs if isinstance(c, dict)]


def has_prior_init(head_cfg: dict) -> bool:
    return any(t.rpartition('.')[2] == 'SoftmaxPriorInit'
               for t in _init_types(head_cfg.get('init_cfg')))


def dense_head_class(head_type) -> Optional[type]:
    """The class of a head type if it is an MMDetection dense head, else None."""
    from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
    from mmdet.registry import MODELS

    cls = head_type if isinstance(head_type, type) else MODELS.get(str(head_type))
    return cls if isinstance(cls, type) and issubclass(cls, BaseDenseHead) else None


def iter_dicts(node, path: str = 'cfg') -> Iterator[Tuple[str, dict]]:
    """Every dict of a config tree with its dotted path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from iter_dicts(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from iter_dicts(value, f'{path}[{index}]')


def softmax_heads_without_prior(model_cfg) -> Iterator[Tuple[str, dict]]:
    """``(path, head config)`` of the dense heads with a softmax ``loss_cls`` of this
    package and no ``SoftmaxPriorInit`` in their ``init_cfg``."""
    for path, node in iter_dicts(model_cfg, 'model'):
        if 'type' in node and is_softmax_loss(node.get('loss_cls')) \
                and not has_prior_init(node) and dense_head_class(node['type']):
            yield path, node


def _default_init_cfg(head_type) -> list:
    default = inspect.signature(dense_head_class(head_type).__init__).parameters.get(
        'init_cfg')
    init = None if default is None else default.default
    if init is None or init is inspect.Parameter.empty:
        return [dict(FALLBACK_HEAD_INIT)]
    return list(init) if isinstance(init, (list, tuple)) else [dict(init)]


def add_softmax_prior_init(cfg, prior_prob: float = 0.01) -> List[str]:
    """Append ``SoftmaxPriorInit`` to the ``init_cfg`` of every dense head of
    ``cfg.model`` whose ``loss_cls`` is a softmax loss of this package, in place.

    A head without an ``init_cfg`` keeps its class's default init before it.

    Returns:
        the config paths of the heads changed.
    """
    changed = []
    for path, head in list(softmax_heads_without_prior(cfg.get('model'))):
        init = head.get('init_cfg')
        init = _default_init_cfg(head['type']) if init is None else (
            list(init) if isinstance(init, (list, tuple)) else [init])
        head['init_cfg'] = init + [dict(type=PRIOR_INIT_TYPE, prior_prob=prior_prob)]
        changed.append(path)
    return changed
