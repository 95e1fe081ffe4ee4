"""How a grid run rewires the loss sites of a detector (:mod:`.layout` finds them).

A grid setting replaces the location loss at every site and the category loss where
the detector's classes are scored (the dense head, or the RoI head; the RPN keeps
its objectness loss), and writes the options that make each
head feed the loss what it expects:

* ``reg_decoded_bbox``: ``True`` for the IoU family (it compares boxes), ``False``
  for coordinate losses (they compare the encoded deltas) -- except on heads that
  always decode their predictions (ATSS, GFL): there the targets must be boxes too,
  so it is ``True`` for every loss.
* ``norm_on_bbox=True`` on FCOS-style heads with a coordinate loss: the distances
  are then in strides, O(1), not pixels (an L1 of hundreds otherwise).
* a softmax category loss on a dense head starts at the background prior
  (``SoftmaxPriorInit``).
* a set-prediction head (the DETR family: ``loss_cls``, ``loss_bbox`` on normalised
  ``cx, cy, w, h`` and ``loss_iou``) takes a box loss in ``loss_iou`` and a
  coordinate loss in ``loss_bbox``, the other kept, each at the base config's weight
  unless the setting gives one; its Hungarian matcher's IoU cost follows the box loss
  (``BoxLossCost``) or is kept (:func:`match_cost_overrides`).
* a quality category loss (QFL, VFL, MAL) takes its ``(labels, IoU scores)``
  targets from the head that computes them: RetinaNet, FCOS and the DETR family
  (DETR, Deformable DETR, DINO) switch to this package's quality heads
  (``mmdet_losses.models.QUALITY_HEADS``); GFL computes them itself, VFNet with
  ``use_vfl``.
* TOOD scores probabilities: a quality loss replaces its ``loss_cls`` (targets the
  task-alignment metric), a loss on labels its ``initial_loss_cls`` (the first
  ``initial_epoch`` epochs), each with ``activated=True``.

What cannot work is refused before anything runs (:class:`IncompatibleSetting`).
"""
from typing import Dict, Optional, Tuple

from mmdet_losses.losses import SPECS, spec_of
from mmdet_losses.spec import (BOXES, IOU_QUALITY, REGRESSION_TARGETS, LossSpec,
                               kind_weights)

from .layout import IncompatibleSetting, LossSite

# Heads that decode their box predictions before every location loss.
ALWAYS_DECODING_HEADS = ('ATSSHead', 'GFLHead')
# Heads whose classification target is a (labels, IoU scores) pair, computed by the
# head itself.
QUALITY_TARGET_HEADS = ('GFLHead',)
# TOOD applies the sigmoid in its head and scores with probabilities: both its
# category losses need activated=True. It trains the first initial_epoch epochs with
# initial_loss_cls on labels (ATSS assignment), then loss_cls on (labels, alignment
# metric) targets: a loss on labels replaces the first, a quality loss the second.
TOOD = 'TOODHead'
INITIAL_LOSS = 'initial_loss_cls'
# VFNet: a quality loss takes its (N, C) IoU targets as loss_cls (use_vfl=True);
# a category loss on labels goes to loss_cls_fl (use_vfl=False). A box loss replaces
# both location losses, loss_bbox and loss_bbox_refine, at the base's weights
# (--reg-weight sets loss_bbox's; the refined boxes' keeps the base's).
VFNET = 'VFNetHead'
REFINE_LOSS = 'loss_bbox_refine'
# What the Hungarian matcher of a set-prediction head does with its IoU cost in a
# grid run: 'follow' the run's box loss (mmdet_losses.BoxLossCost), or 'keep' the
# base config's. 'follow' is the default: the loss then scores the assignment it
# would have made, and a comparison of IoU losses is not confounded by a matcher
# that still assigns by GIoU.
MATCH_COST_MODES = ('follow', 'keep')
# The IoU costs of a matcher a 'follow' run replaces.
IOU_COSTS = ('IoUCost', 'BoxLossCost')
# MMDetection's weights of a DETR head's losses, where the base config gives none.
SET_HEAD_WEIGHTS = {'loss_cls': 1.0, 'loss_bbox': 5.0, 'loss_iou': 2.0}
# Location-loss weights where a setting gives none: the loss's spec's weight for the
# head kind (mmdet_losses.spec: coordinate losses 1.0; the IoU family 2.0 on anchor
# heads, 1.0 on anchor-free ones, 10.0 on RoI heads), a box loss's for any other type.
_OTHER_LOCATION_WEIGHTS = kind_weights('box')


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
    if site.is_a((VFNET, )):
        key = 'loss_cls' if is_quality else 'loss_cls_fl'
        return {'use_vfl': is_quality, key: _replacing(site, key, loss_cls)}
    if site.is_a((TOOD, )):
        return _tood_category(site, name, loss_cls, is_quality, softmax)
    swap = _quality_swaps().get(site.head_type, {}) if is_quality else {}
    if is_quality and not swap and not site.is_a(QUALITY_TARGET_HEADS):
        heads = sorted(set(QUALITY_TARGET_HEADS) | set(_quality_swaps()) | {VFNET})
        raise IncompatibleSetting(
            f'{name} needs IoU-quality targets, which {site.head_type} '
            f'({site.name}) does not compute; heads that do: {", ".join(heads)}')
    if site.kind == 'roi' and not softmax:
        raise IncompatibleSetting(
            f'{site.head_type} ({site.name}) predicts C + 1 logits and scores them '
            f'with a softmax; a sigmoid category loss ({name}) does not fit it: use '
            'a softmax setting (use_sigmoid=False: ce, softmax-focal)')
    overrides = dict(swap)
    if softmax and site.kind not in ('roi', 'set'):
        overrides['init_cfg'] = softmax_init
    if site.kind == 'set':
        loss_cls = _with_set_head_defaults(site, loss_cls, softmax)
    overrides['loss_cls'] = loss_cls
    return overrides


def _replacing(site: LossSite, key: str, loss: dict) -> dict:
    """``loss`` for ``key`` of ``site``: without ``_delete_`` where the base config
    has no ``key`` (nothing to replace, nothing to merge with)."""
    if key in site.config:
        return loss
    return {k: v for k, v in loss.items() if k != '_delete_'}


def _tood_category(site: LossSite, name: str, loss_cls: dict, is_quality: bool,
                   softmax: bool) -> dict:
    """TOOD: a quality loss replaces ``loss_cls`` (alignment-metric targets), a
    loss on labels ``initial_loss_cls`` (the first ``initial_epoch`` epochs), each
    on probabilities (``activated=True``)."""
    from mmdet_losses.engine.doctor import takes_probabilities
    if softmax or not takes_probabilities(loss_cls['type']):
        able = [n for n in SPECS if takes_probabilities(f'mmdet_losses.{n}')]
        raise IncompatibleSetting(
            f'{site.head_type} ({site.name}) applies the sigmoid in the head and '
            f'passes probabilities to its category losses (activated=True), which '
            f'{name} does not take; losses that do: {", ".join(able)}')
    key = 'loss_cls' if is_quality else INITIAL_LOSS
    return {key: _replacing(site, key, dict(loss_cls, activated=True))}


def _with_set_head_defaults(site: LossSite, loss_cls: dict, softmax: bool) -> dict:
    """A DETR head's category loss takes the base's weight (Deformable DETR's
    focal: 2.0, DINO's: 1.0) in place of its spec's default (a setting's own other
    weight is kept), and a softmax loss the base's no-object weight (DETR:
    ``class_weight`` 1.0, ``bg_cls_weight`` 0.1)."""
    base = site.config.get('loss_cls') or {}
    spec = spec_of(loss_cls['type'])
    loss_cls = dict(loss_cls)
    default = None if spec is None else spec.uniform_weight
    if loss_cls.get('loss_weight', default) == default:
        loss_cls['loss_weight'] = float(base.get('loss_weight',
                                                 SET_HEAD_WEIGHTS['loss_cls']))
    if softmax and base.get('use_sigmoid', False) is False:
        for key in ('class_weight', 'bg_cls_weight'):
            if key in base:
                loss_cls.setdefault(key, base[key])
    return loss_cls


def set_location_key(site: LossSite, spec: Optional[LossSpec], name: str) -> str:
    """Which loss of a set-prediction head a location setting replaces: a box loss
    ``loss_iou``, a coordinate loss ``loss_bbox``."""
    if spec is not None and spec.compares == BOXES:
        return 'loss_iou'
    if spec is not None and spec.compares == REGRESSION_TARGETS:
        return 'loss_bbox'
    raise IncompatibleSetting(
        f'{site.head_type} ({site.name}) has a box loss (loss_iou) and a coordinate '
        f'loss (loss_bbox); {name} is neither')


def location_overrides(site: LossSite, loss_bbox: dict, coordinate: bool) -> dict:
    """The head settings for ``loss_bbox`` at ``site`` (``loss_bbox`` included);
    ``coordinate``: an Lp loss on the regression targets, not on boxes. On a
    set-prediction head the loss goes to ``loss_iou`` or ``loss_bbox``
    (:func:`set_location_key`)."""
    if site.kind == 'set':
        key = 'loss_bbox' if coordinate else set_location_key(
            site, spec_of(loss_bbox['type']), _type_name(loss_bbox))
        return {key: loss_bbox}
    overrides = {}
    if site.is_a((VFNET, )):
        if coordinate:
            raise IncompatibleSetting(
                f'{site.head_type} ({site.name}) gives both its location losses '
                f'decoded boxes in pixels: {_type_name(loss_bbox)} would compare '
                'pixel coordinates (a loss of hundreds); use a box loss')
        refine = (site.config.get(REFINE_LOSS) or {}).get('loss_weight', 2.0)
        overrides[REFINE_LOSS] = dict(loss_bbox, loss_weight=float(refine))
    if 'reg_decoded_bbox' in site.params:
        overrides['reg_decoded_bbox'] = (not coordinate
                                         or site.is_a(ALWAYS_DECODING_HEADS))
    if coordinate and 'norm_on_bbox' in site.params:
        overrides['norm_on_bbox'] = True
    overrides['loss_bbox'] = loss_bbox
    return overrides


def default_location_weight(site: LossSite, spec: Optional[LossSpec]) -> float:
    """The weight of a location loss (its spec, ``None`` for a type this package
    does not define) at ``site`` when the setting gives none; on a set-prediction
    head, the base config's weight of the loss it replaces."""
    if site.kind == 'set':
        key = 'loss_bbox' if spec is not None and \
            spec.compares == REGRESSION_TARGETS else 'loss_iou'
        return float((site.config.get(key) or {}).get('loss_weight',
                                                      SET_HEAD_WEIGHTS[key]))
    if site.is_a((VFNET, )):  # its two box losses are weighed against each other
        return float((site.config.get('loss_bbox') or {}).get('loss_weight', 1.5))
    weights = spec.weights if spec is not None and \
        spec.compares in (BOXES, REGRESSION_TARGETS) else _OTHER_LOCATION_WEIGHTS
    return weights['anchor' if site.kind == 'rpn' else site.kind]


def match_cost_overrides(match_costs: Tuple[dict, ...], loss: dict,
                         mode: str) -> Optional[dict]:
    """The ``model.train_cfg`` override of a run whose box loss is ``loss`` on a
    detector whose Hungarian matcher has ``match_costs``: with ``mode='follow'`` every
    IoU cost becomes ``mmdet_losses.BoxLossCost`` of that loss, at the cost's weight;
    ``None`` when nothing changes (``'keep'``, or no IoU cost)."""
    if mode not in MATCH_COST_MODES:
        raise ValueError(f'match cost mode must be one of {MATCH_COST_MODES}, got '
                         f'{mode!r}')
    if mode == 'keep' or not any(_type_name(c) in IOU_COSTS for c in match_costs):
        return None
    measured = {k: v for k, v in loss.items()
                if k not in ('loss_weight', 'reduction', '_delete_')}
    costs = [dict(type='mmdet_losses.BoxLossCost', loss=measured,
                  weight=float(cost.get('weight', 1.0)))
             if _type_name(cost) in IOU_COSTS else dict(cost) for cost in match_costs]
    return dict(assigner=dict(match_costs=costs))


