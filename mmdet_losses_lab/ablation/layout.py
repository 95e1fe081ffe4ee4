"""Where an MMDetection detector keeps its losses: the heads of a base config that
hold a ``loss_cls``/``loss_bbox`` pair (:class:`LossSite`), found by
:func:`inspect_detector`, and its Hungarian matcher's costs where it has one.

One-stage detectors keep both losses in ``model.bbox_head`` (RetinaNet, FCOS, ATSS,
GFL, ...); two-stage detectors in ``model.rpn_head`` (objectness and proposal boxes)
and ``model.roi_head.bbox_head`` (classes and final boxes; a list of heads for
Cascade R-CNN); set-prediction detectors (the DETR family) in ``model.bbox_head``,
with a ``loss_iou`` beside ``loss_bbox``. How a grid run rewires each site:
:mod:`.heads`.
"""
import inspect
from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Tuple

# Heads whose losses a grid setting cannot stand in for, and why.
UNSUPPORTED_HEADS = {
    'YOLOV3Head': 'it has no loss_bbox: its boxes are trained by loss_xy (BCE on '
                  'the centre offsets) and loss_wh (MSE on the log sizes)',
}

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
        kind: ``'anchor'`` or ``'anchor-free'`` (dense heads), ``'rpn'``, ``'roi'``,
            ``'set'`` (set-prediction heads: a ``loss_iou`` beside ``loss_bbox``).
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
    if kind is None and 'loss_iou' in params:
        kind = 'set'
    elif kind is None:
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
    sites = [s for s in sites if 'loss_bbox' in s.params]
    if not sites:
        raise IncompatibleSetting(
            f'model type {model.get("type")!r} has neither a bbox_head nor an '
            'rpn_head / roi_head.bbox_head with loss_cls and loss_bbox: the grid '
            'does not know where its losses are')
    return sites


@dataclass(frozen=True)
class DetectorLayout:
    """A base config and the loss sites of its detector.

    Args:
        config: the base config as given: a path or a ``scope::path`` name.
        path: the file it names (absolute).
        sites: :func:`find_sites` of its model.
        match_costs: the costs of its Hungarian matcher (``model.train_cfg.
            assigner.match_costs``), empty where it has none.
    """
    config: str
    path: str
    sites: Tuple[LossSite, ...]
    match_costs: Tuple[dict, ...] = ()

    @property
    def set_prediction(self) -> bool:
        """Whether a head of the detector is a set-prediction head."""
        return any(site.kind == 'set' for site in self.sites)

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
    model = Config.fromfile(path).model.to_dict()
    assigner = (model.get('train_cfg') or {}).get('assigner') or {}
    costs = tuple(dict(c) for c in assigner.get('match_costs') or ()
                  if isinstance(c, dict))
    return DetectorLayout(config, path, tuple(find_sites(model)), costs)


def legacy_layout(decoded_head: bool) -> DetectorLayout:
    """A single dense ``bbox_head``: RetinaNet-like (it takes
    ``reg_decoded_bbox``) or, with ``decoded_head=False``, a head that always
    decodes (FCOS-like). For grids built without a base config."""
    params = frozenset({'loss_cls', 'loss_bbox'}
                       | ({'reg_decoded_bbox'} if decoded_head else set()))
    site = LossSite(('bbox_head',), 'RetinaHead' if decoded_head else 'FCOSHead',
                    (), params, 'anchor' if decoded_head else 'anchor-free')
    return DetectorLayout('', '', (site,))
