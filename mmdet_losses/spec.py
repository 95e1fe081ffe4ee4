"""The loss spec: what a registered loss is, declared once, next to its class.

Every registered loss states its facts in its class body::

    @MODELS.register_module()
    class GIoULoss(IoUFamilyLoss):
        spec = LossSpec(
            kind='box', paper='Rezatofighi et al., CVPR 2019, arXiv 1902.09630',
            page='giou', use='the safe default for decoded boxes', namesake='same',
            presets=(Preset('giou', comment='Generalized IoU loss ...'), ...))

and everything that used to repeat them is derived from the specs
(:data:`mmdet_losses.losses.SPECS`, in the order of :data:`KINDS`): the export lists
(``mmdet_losses.losses.__all__``), the README's loss table, the index of
``docs/losses/``, the presets of ``configs/_base_/losses/`` (``tools/loss_spec.py``
writes those three; ``--check`` in the tests), the ablation grid's settings and the
default weights of its heads (``mmdet_losses_lab.ablation``), the config doctor's
decisions (which losses compare boxes, which share a name with a different loss of
MMDetection), the quality heads' losses and the tests' parametrisations. No decision
is taken from a class's name.

This module imports nothing of torch or MMDetection.
"""
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Dict, Mapping, Optional, Tuple

#: What a loss is, in the order of every derived table. ``category``: scores classes
#: against labels; ``quality``: scores classes against IoU-quality targets;
#: ``box``: compares decoded boxes; ``coordinate``: compares what the head
#: regresses (deltas, distances), coordinate by coordinate; ``distribution``: box
#: sides predicted as distributions over bins.
KINDS = ('category', 'quality', 'box', 'coordinate', 'distribution')
#: The kinds that go in a head's ``loss_cls`` (the others in its location loss).
CATEGORY_KINDS = ('category', 'quality')
#: The heads a default weight is given for: dense anchor-based heads (RetinaNet,
#: ATSS, GFL; the RPN), dense anchor-free heads (FCOS), RoI heads.
HEAD_KINDS = ('anchor', 'anchor-free', 'roi')

# What a loss compares.
CLASS_SCORES = 'class scores'
BOXES = 'boxes'                  # decoded x1y1x2y2 boxes: reg_decoded_bbox=True
REGRESSION_TARGETS = 'regression targets'  # what the head regresses
DISTRIBUTIONS = 'distributions'
# The targets it takes.
LABELS = 'labels'                # (N,) labels with background C, or (N, C) floats
IOU_QUALITY = 'iou quality'      # (labels, IoU scores) or (N, C) soft targets
BIN_DISTANCES = 'bin distances'  # distances in bin units

_BY_KIND = {
    # kind: (compares, targets, default weight per head kind)
    'category': (CLASS_SCORES, LABELS, 1.0),
    'quality': (CLASS_SCORES, IOU_QUALITY, 1.0),
    # 2.0 on anchor heads (ATSS's, GFL's, TOOD's GIoU), 1.0 on anchor-free ones
    # (FCOS's IoU and GIoU), 10.0 on RoI heads (MMDetection's Faster R-CNN IoU and
    # GIoU configs, whose loss is averaged over sampled RoIs)
    'box': (BOXES, BOXES, {'anchor': 2.0, 'anchor-free': 1.0, 'roi': 10.0}),
    'coordinate': (REGRESSION_TARGETS, REGRESSION_TARGETS, 1.0),
    'distribution': (DISTRIBUTIONS, BIN_DISTANCES, 0.25),  # GFL's DFL
}
#: What each kind is, for the README's table.
KIND_NOTES = {
    'category': 'sigmoid (C logits) or softmax (C + 1 logits) class scores',
    'quality': 'class scores trained towards IoU-quality targets, which the head '
               'computes: GFL, VFNet and TOOD (QFL, on its alignment metric), and '
               'RetinaNet, FCOS, DETR, Deformable DETR and DINO through '
               "`mmdet_losses.models`' quality heads",
    'box': 'decoded boxes (`reg_decoded_bbox=True` on anchor heads); the IoU family '
           "takes an Alpha-IoU power `alpha`, Inner-IoU's `inner_ratio` and "
           "Focaler-IoU's `focaler_range`",
    'coordinate': 'what the head regresses (deltas, distances), coordinate by '
                  'coordinate',
    'distribution': 'box sides predicted as distributions over bins',
}
#: How a loss relates to MMDetection's class of the same name: ``'same'`` (the same
#: loss, equal in value and gradient), ``'variant'`` (another variant of the loss
#: under that name: the config doctor warns where the two are mixed), ``'other'``
#: (an unrelated loss that happens to share the name).
NAMESAKES = ('same', 'variant', 'other')


@dataclass(frozen=True)
class Preset:
    """A named setting of a loss: a name of the ablation grid (``--cls NAME``,
    ``--reg NAME``) and a file of ``configs/_base_/losses/``.

    Args:
        name: the grid's name.
        options: the hyper-parameters, in the order the configs write them.
        comment: what the setting is and why these values (the config file's
            comment).
        file: the stem of ``configs/_base_/losses/<file>.py`` where it differs from
            ``name``.
        loss_weight: a weight the grid's setting carries on every head (GHM-R's
            10.0); ``None``: the head kind's (:attr:`LossSpec.weights`).
    """
    name: str
    options: Mapping[str, object] = field(default_factory=dict)
    comment: str = ''
    file: Optional[str] = None
    loss_weight: Optional[float] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, 'options', MappingProxyType(dict(self.options)))

    @property
    def file_stem(self) -> str:
        """The file's name in ``configs/_base_/losses/``, without ``.py``."""
        return self.file or self.name

    @property
    def variable(self) -> str:
        """The name the config file gives the loss (``focal_eiou_loss``)."""
        return self.file_stem.replace('-', '_') + '_loss'


@dataclass(frozen=True)
class LossSpec:
    """The facts of one registered loss (see the module doc).

    Args:
        kind: one of :data:`KINDS`.
        paper: authors, venue and arXiv id (``'textbook'`` where there is none).
        page: its page, ``docs/losses/<page>.md``.
        use: where it is used, for the index of ``docs/losses/``.
        summary: a few words for the README's table (``'v1, v2, v3'``).
        presets: its settings of the grid and of ``configs/_base_/losses/``.
        weights: the default weight per head kind (:data:`HEAD_KINDS`), or one
            number for all; ``None``: the kind's.
        compares: what it compares (:data:`BOXES`, ...); ``None``: the kind's.
        targets: the targets it takes (:data:`IOU_QUALITY`, ...); ``None``: the
            kind's.
        namesake: how it relates to MMDetection's class of its name
            (:data:`NAMESAKES`), ``None`` where MMDetection has none.

    ``loss``, the class's name, is set when the class is created.
    """
    kind: str
    paper: str
    page: str
    use: str
    summary: str = ''
    presets: Tuple[Preset, ...] = ()
    weights: Optional[Mapping[str, float]] = None
    compares: Optional[str] = None
    targets: Optional[str] = None
    namesake: Optional[str] = None
    loss: str = field(default='', init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f'kind must be one of {KINDS}, got {self.kind!r}')
        if self.namesake is not None and self.namesake not in NAMESAKES:
            raise ValueError(f'namesake must be None or one of {NAMESAKES}, got '
                             f'{self.namesake!r}')
        compares, targets, _ = _BY_KIND[self.kind]
        weights = kind_weights(self.kind) if self.weights is None else \
            _per_head_kind(self.weights)
        names = [preset.name for preset in self.presets]
        if len(set(names)) != len(names):
            raise ValueError(f'preset names must be distinct, got {names}')
        object.__setattr__(self, 'weights', weights)
        object.__setattr__(self, 'compares', self.compares or compares)
        object.__setattr__(self, 'targets', self.targets or targets)
        object.__setattr__(self, 'presets', tuple(self.presets))

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, 'loss', owner.__name__)

    @property
    def type(self) -> str:
        """The config's ``type``: ``'mmdet_losses.<loss>'``."""
        return f'mmdet_losses.{self.loss}'

    @property
    def category(self) -> bool:
        """Whether the loss goes in a head's ``loss_cls``."""
        return self.kind in CATEGORY_KINDS

    @property
    def uniform_weight(self) -> Optional[float]:
        """The default weight when it is the same on every head kind, else None."""
        values = set(self.weights.values())
        return values.pop() if len(values) == 1 else None

    def config(self, preset: Preset) -> Dict[str, object]:
        """``dict(type=..., **options)`` of one of its presets."""
        return dict(type=self.type, **preset.options)


def _per_head_kind(weights) -> Mapping[str, float]:
    if not isinstance(weights, Mapping):
        weights = dict.fromkeys(HEAD_KINDS, float(weights))
    if set(weights) != set(HEAD_KINDS):
        raise ValueError(f'weights must give {HEAD_KINDS}, got {tuple(weights)}')
    return MappingProxyType(dict(weights))


def kind_weights(kind: str) -> Mapping[str, float]:
    """The default weight per head kind of the losses of ``kind``."""
    return _per_head_kind(_BY_KIND[kind][2])


def ordered(specs: Mapping[str, LossSpec]) -> Dict[str, LossSpec]:
    """``specs`` in the order of :data:`KINDS`, each kind in its given order."""
    return dict(sorted(specs.items(), key=lambda item: KINDS.index(item[1].kind)))
