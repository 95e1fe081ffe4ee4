"""Where an MMDetection detector keeps its losses, and how a grid run rewires them.

One-stage detectors keep both losses in ``model.bbox_head`` (RetinaNet, FCOS, ATSS,
GFL, ...); two-stage detectors in ``model.rpn_head`` (objectness and proposal boxes)
and ``model.roi_head.bbox_head`` (classes and final boxes; a list of heads for
Cascade R-CNN). A grid setting replaces the location loss at every such site and
the category loss where the detector's classes are scored (the dense head, or the
RoI head; the RPN keeps its objectness loss), and writes the options that make each
head feed the loss what it expects:

* ``reg_decoded_bbox``: ``True`` for the IoU family (it compares boxes), ``False``
  for coordinate losses (they compare the encoded deltas) -- except on heads that
  always decode their predictions (ATSS, GFL): there the targets must be boxes too,
  so it is ``True`` for every loss.
* ``norm_on_bbox=True`` on FCOS-style heads with a coordinate loss: the distances
  are then in strides, O(1), not pixels (an L1 of hundreds otherwise).
* a softmax category loss on a dense head starts at the background prior
  (``SoftmaxPriorInit``).

What cannot work is refused before anything runs (:class:`IncompatibleSetting`).
"""
import inspect
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Tuple

from mmdet_losses.losses import SPECS, spec_of
from mmdet_losses.spec import (BOXES, IOU_QUALITY, REGRESSION_TARGETS, LossSpec,
                               kind_weights)

# Heads that decode their box predictions before every location loss.
ALWAYS_DECODING_HEADS = ('ATSSHead', 'GFLHead')
# Heads whose classification target is a (labels, IoU scores) pair, computed by the
# head itself.
QUALITY_TARGET_HEADS = ('GFLHead',)
# Heads whose losses a grid setting cannot stand in for, and why.
UNSUPPORTED_HEADS = {
    'VFNetHead': 'it has a second location loss (loss_bbox_refine) for its refined '
                 'boxes',
    'TOODHead': 'it scores with sigmoid-activated, task-aligned targets (its '
                'loss_cls takes probabilities) and has an initial_loss_cls',
}
# Location-loss weights where a setting gives none: the loss's spec's weight for the
# head kind (mmdet_losses.spec: coordinate losses 1.0; the IoU family 2.0 on anchor
# heads, 1.0 on anchor-free ones, 10.0 on RoI heads), a box loss's for any other type.
_OTHER_LOCATION_WEIGHTS = kind_weights('box')


class IncompatibleSetting(ValueError):
    """A grid setting that cannot train on the base config's detector."""


@dataclass(frozen=True)
class LossSite:
    """One head that holds a ``loss_cls``/``loss_bbox`` pair.

    Args:
        path: keys from ``model`` to the head (``('roi_head', 'bbox_head', 0)``).
        head_type: the head's registered type (``'RetinaHead'``).
        classes: names of the head class and its bases.
        params: the ``__init__`` arguments the head class (and its bases) take.
        kind: ``'anchor'`` or ``'anchor-free'`` (dense heads), ``'rpn'``, ``'roi'``.
        category: whether the grid's category loss goes here.
        config: the head's config in the base (a member of a list of heads is
            written whole).
    """
    path: Tuple
    head_type: str
    classes: Tuple[str, ...] = ()
    params: FrozenSet[str] = frozenset()
    kind: str = 'anchor'
    category: bool = True
    config: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return '.'.join(str(p) for p in ('model', *self.path))

    def is_a(self, names) -> bool:
        return any(c in names for c in self.classes)


def _head_class(head_type: str):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    head = MODELS.get(head_type)
    if head is None:
        raise IncompatibleSetting(f'head type {head_type!r} is not registered')
    return head


def make_site(path: Tuple, head_cfg: dict, kind: Optional[str] = None,
              category: bool = True) -> LossSite:
    """The :class:`LossSite` of ``head_cfg``; ``kind`` from its class when None."""
    klass = _head_class(head_cfg['type'])
    mro = [k for k in getattr(klass, '__mro__', ()) if k is not object]
    params = frozenset(
        name for k in mro if '__init__' in vars(k)
        for name in inspect.signature(k.__init__).parameters)
    classes = tuple(k.__name__ for k in mro)
    if kind is None:
        kind = 'anchor' if 'AnchorHead' in classes else 'anchor-free'
    return LossSite(tuple(path), str(head_cfg['type']), classes, params, kind,
                    category, dict(head_cfg))


def find_sites(model: dict) -> List[LossSite]:
    """Every head of ``model`` (a config's ``model`` dict) whose losses the grid
    replaces; :class:`IncompatibleSetting` when there is none."""
    sites = []
    if isinstance(model.get('bbox_head'), dict):
        sites.append(make_site(('bbox_head',), model['bbox_head']))
    if isinstance(model.get('rpn_head'), dict):
        sites.append(make_site(('rpn_head',), model['rpn_head'], 'rpn',
                               category=False))
    roi = model.get('roi_head')
    heads = roi.get('bbox_head') if isinstance(roi, dict) else None
    if isinstance(heads, dict):
        sites.append(make_site(('roi_head', 'bbox_head'), heads, 'roi'))
    elif isinstance(heads, (list, tuple)):
        sites += [make_site(('roi_head', 'bbox_head', i), head, 'roi')
                  for i, head in enumerate(heads)]
    for site in sites:
        for head, reason in UNSUPPORTED_HEADS.items():
            if site.is_a((head,)):
                raise IncompatibleSetting(
                    f'{site.head_type} ({site.name}): the grid does not rewire '
                    f'{head}, because {reason}')
        if 'loss_iou' in site.params:
            raise IncompatibleSetting(
                f'{site.head_type} ({site.name}) has a loss_iou beside loss_bbox (a '
                'set-prediction head): the grid replaces one location loss per head')
    sites = [s for s in sites if 'loss_bbox' in s.params]
    if not sites:
        raise IncompatibleSetting(
            f'model type {model.get("type")!r} has neither a bbox_head nor an '
            'rpn_head / roi_head.bbox_head with loss_cls and loss_bbox: the grid '
            'does not know where its losses are')
    return sites


def _quality_swaps() -> Dict[str, dict]:
    try:
        from mmdet_losses.models import QUALITY_HEADS
    except ImportError:
        return {}
    return dict(QUALITY_HEADS)


def _type_name(loss: dict) -> str:
    return str(loss['type']).split('.')[-1]


def category_overrides(site: LossSite, loss_cls: dict, softmax_init: list) -> dict:
    """The head settings for ``loss_cls`` at ``site`` (``loss_cls`` included)."""
    name, spec = _type_name(loss_cls), spec_of(loss_cls['type'])
    quality = [n for n, s in SPECS.items() if s.targets == IOU_QUALITY]
    softmax = loss_cls.get('use_sigmoid', True) is False
    is_quality = spec is not None and spec.targets == IOU_QUALITY
    if site.is_a(QUALITY_TARGET_HEADS) and not is_quality:
        raise IncompatibleSetting(
            f'{site.head_type} ({site.name}) trains its classifier on (labels, IoU '
            f'score) targets, which only {", ".join(quality)} take; got {name}')
    swap = _quality_swaps().get(site.head_type, {}) if is_quality else {}
    if is_quality and not swap and not site.is_a(QUALITY_TARGET_HEADS):
        heads = sorted(set(QUALITY_TARGET_HEADS) | set(_quality_swaps()))
        raise IncompatibleSetting(
            f'{name} needs IoU-quality targets, which {site.head_type} '
            f'({site.name}) does not compute; heads that do: {", ".join(heads)}')
    if site.kind == 'roi' and not softmax:
        raise IncompatibleSetting(
            f'{site.head_type} ({site.name}) predicts C + 1 logits and scores them '
            f'with a softmax; a sigmoid category loss ({name}) does not fit it: use '
            'a softmax setting (use_sigmoid=False: ce, softmax-focal)')
    overrides = dict(swap)
    if softmax and site.kind != 'roi':
        overrides['init_cfg'] = softmax_init
    overrides['loss_cls'] = loss_cls
    return overrides


def location_overrides(site: LossSite, loss_bbox: dict, coordinate: bool) -> dict:
    """The head settings for ``loss_bbox`` at ``site`` (``loss_bbox`` included);
    ``coordinate``: an Lp loss on the regression targets, not on boxes."""
    overrides = {}
    if 'reg_decoded_bbox' in site.params:
        overrides['reg_decoded_bbox'] = (not coordinate
                                         or site.is_a(ALWAYS_DECODING_HEADS))
    if coordinate and 'norm_on_bbox' in site.params:
        overrides['norm_on_bbox'] = True
    overrides['loss_bbox'] = loss_bbox
    return overrides


def default_location_weight(site: LossSite, spec: Optional[LossSpec]) -> float:
    """The weight of a location loss (its spec, ``None`` for a type this package
    does not define) at ``site`` when the setting gives none."""
    weights = spec.weights if spec is not None and \
        spec.compares in (BOXES, REGRESSION_TARGETS) else _OTHER_LOCATION_WEIGHTS
    return weights['anchor' if site.kind == 'rpn' else site.kind]


@dataclass(frozen=True)
class DetectorLayout:
    """A base config and the loss sites of its detector.

    Args:
        config: the base config as given: a path or a ``scope::path`` name.
        path: the file it names (absolute).
        sites: :func:`find_sites` of its model.
    """
    config: str
    path: str
    sites: Tuple[LossSite, ...]

    @property
    def base(self) -> str:
        """What a run's config writes in ``_base_``: ``scope::`` names as given (the
        package resolves them wherever it is installed), paths made absolute."""
        return self.config if '::' in self.config else self.path

    @property
    def primary(self) -> LossSite:
        """The site that scores the detector's classes (the last one that takes the
        category loss): its location-loss weight is the run's ``reg_weight``."""
        return [s for s in self.sites if s.category][-1]


def resolve_config(config: str) -> str:
    """The absolute path of ``config``: a path (relative to the current directory)
    or a ``scope::path`` name of an installed package (``mmdet::retinanet/...``)."""
    import os.path as osp
    if '::' in config:
        from mmengine.config import Config
        try:
            path, _ = Config._get_cfg_path(config, '')
        except Exception as error:  # mmengine raises several types for a bad name
            raise FileNotFoundError(f'cannot resolve config {config!r}: {error}') \
                from error
    else:
        path = osp.abspath(config)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config {config!r} not found (looked at {path})')
    return path


def inspect_detector(config: str) -> DetectorLayout:
    """Read the base config ``config`` and find where its detector keeps its
    losses."""
    from mmengine.config import Config
    path = resolve_config(config)
    model = Config.fromfile(path).model
    return DetectorLayout(config, path, tuple(find_sites(model.to_dict())))


def legacy_layout(decoded_head: bool) -> DetectorLayout:
    """A single dense ``bbox_head``: RetinaNet-like (it takes
    ``reg_decoded_bbox``) or, with ``decoded_head=False``, a head that always
    decodes (FCOS-like). For grids built without a base config."""
    params = frozenset({'loss_cls', 'loss_bbox'}
                       | ({'reg_decoded_bbox'} if decoded_head else set()))
    site = LossSite(('bbox_head',), 'RetinaHead' if decoded_head else 'FCOSHead',
                    (), params, 'anchor' if decoded_head else 'anchor-free')
    return DetectorLayout('', '', (site,))
