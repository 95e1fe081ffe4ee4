"""The config doctor: the wiring mistakes that train silently and wrongly, found
before any data is read.

:func:`check_config` returns :class:`Finding` s (``error`` or ``warning``), each with
the config path it concerns and a message that names the fix. The tools
(``tools/train.py``, ``tools/test.py``, ``tools/demo.py`` and every run of
``tools/ablation.py``) stop on an error; ``tools/check_config.py CONFIG`` prints the
findings of a config without running anything.

What a head does with its boxes is read from the head class MMDetection's registry
resolves, not from a list of head names:

* a head whose loss code and target code both read ``reg_decoded_bbox`` (RetinaNet,
  RPN, the RoI bbox heads) compares deltas unless that flag is set, so a loss of the
  IoU family needs ``reg_decoded_bbox=True``;
* a head whose loss code decodes the predictions without reading the flag while its
  target code encodes the targets unless it is set (ATSS) compares boxes with deltas
  for any loss when the flag is off;
* a head whose code does not read the flag (FCOS, GFL, TOOD, RTMDet) decodes both
  sides itself and needs nothing.

What a loss compares is read from its spec (:mod:`mmdet_losses.spec`; for
MMDetection's own losses, which have none, from :data:`MMDET_BOX_LOSSES`), and so is
which of MMDetection's names stand for another variant of one of ours; no decision
is taken from a class's name.
"""
import difflib
import inspect
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from ..losses import SPECS
from ..spec import BOXES, IOU_QUALITY, LossSpec
from .init import (PRIOR_INIT_TYPE, iter_dicts, softmax_heads_without_prior)

SCOPE = 'mmdet_losses.'
# MMDetection's own losses that compare decoded boxes (they carry no spec; this
# package's losses say it in theirs: mmdet_losses.spec).
MMDET_BOX_LOSSES = ('IoULoss', 'BoundedIoULoss', 'GIoULoss', 'DIoULoss', 'CIoULoss',
                    'EIoULoss', 'SIoULoss')


def same_name_different_loss() -> Tuple[str, ...]:
    """The names under which MMDetection registers another variant of one of this
    package's losses (from their specs)."""
    return tuple(name for name, spec in SPECS.items() if spec.namesake == 'variant')


@dataclass
class Finding:
    level: str  # 'error' or 'warning'
    path: str  # where in the config, e.g. 'model.bbox_head.loss_bbox'
    message: str

    def __str__(self) -> str:
        return f'{self.level}: {self.path}: {self.message}'


class ConfigError(ValueError):
    """A config the doctor refuses; ``findings`` holds every finding."""

    def __init__(self, findings: List[Finding]) -> None:
        self.findings = findings
        errors = [f for f in findings if f.level == 'error']
        super().__init__(f'{len(errors)} config error(s):\n' +
                         '\n'.join(f'  {f}' for f in errors))


# ------------------------------------------------------------------ resolution

def _registries():
    from mmdet.registry import MODELS as MMDET_MODELS

    from .. import registry

    return MMDET_MODELS, registry


def resolve_model(type_name: str) -> Optional[type]:
    """The class ``type_name`` builds from MMDetection's ``MODELS`` (None if none)."""
    mmdet_models, _ = _registries()
    try:
        cls = mmdet_models.get(type_name)
    except KeyError:
        return None
    return cls if isinstance(cls, type) else None


def compares_boxes(cls: type) -> bool:
    """Whether the loss class ``cls`` compares decoded boxes: its spec says so
    (:mod:`mmdet_losses.spec`), or it is one of :data:`MMDET_BOX_LOSSES`."""
    spec = cls.__dict__.get('spec')
    if isinstance(spec, LossSpec):
        return spec.compares == BOXES
    return cls.__module__.startswith('mmdet.') and cls.__name__ in MMDET_BOX_LOSSES


def _source(cls: type, names: Tuple[str, ...], needle: str) -> Optional[str]:
    """The source of the first method in ``names`` (through the MRO) that contains
    ``needle``."""
    for name in names:
        method = getattr(cls, name, None)
        if method is None:
            continue
        try:
            text = inspect.getsource(method)
        except (OSError, TypeError):
            continue
        if needle in text:
            return text
    return None


def _reg_decoded_default(cls: type) -> Optional[bool]:
    for klass in cls.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        parameter = inspect.signature(init).parameters.get('reg_decoded_bbox')
        if parameter is not None and parameter.default is not inspect.Parameter.empty:
            return bool(parameter.default)
    return None


def flag_use(head_cls: type) -> Optional[Tuple[bool, bool]]:
    """Whether the head's loss code and its target code read ``reg_decoded_bbox``:
    ``(loss code, target code)``, ``None`` where the loss code cannot be read."""
    loss_code = _source(head_cls, ('loss_by_feat_single', 'loss_by_feat', 'loss'),
                        'self.loss_bbox(')
    if loss_code is None:
        return None
    target_code = _source(head_cls, ('_get_targets_single', 'get_targets'),
                          'reg_decoded_bbox')
    return 'reg_decoded_bbox' in loss_code, target_code is not None


def decoded_flag(head_cls: type, head_cfg: dict) -> bool:
    """``reg_decoded_bbox`` as the head will see it (config, else class default)."""
    value = head_cfg.get('reg_decoded_bbox', _reg_decoded_default(head_cls))
    return bool(value)


# ------------------------------------------------------------------ the checks

def loss_dicts(model_cfg) -> Iterator[Tuple[str, str, dict, dict]]:
    """``(path, key, loss config, owner config)`` of every ``loss_*`` entry."""
    for path, node in iter_dicts(model_cfg, 'model'):
        for key, value in node.items():
            if str(key).startswith('loss') and isinstance(value, dict) \
                    and isinstance(value.get('type'), str):
                yield f'{path}.{key}', key, value, node


def _check_scoped_names(cfg) -> Iterator[Finding]:
    _, registry = _registries()
    for path, node in iter_dicts(dict(cfg), 'cfg'):
        type_name = node.get('type')
        if not (isinstance(type_name, str) and type_name.startswith(SCOPE)):
            continue
        name = type_name[len(SCOPE):]
        owners = [reg for reg in registry.CHILDREN.values()
                  if name in reg.own_names()]
        if owners:
            continue
        target = registry.HOOKS if '.custom_hooks' in path else \
            registry.WEIGHT_INITIALIZERS if '.init_cfg' in path else registry.MODELS
        yield Finding('error', path.replace('cfg.', '', 1),
                      target.unknown_name_message(name))


def _check_loss_types(cfg) -> Iterator[Finding]:
    mmdet_models, _ = _registries()
    for path, _, loss, _ in loss_dicts(cfg.get('model')):
        type_name = loss['type']
        if type_name.startswith(SCOPE) or resolve_model(type_name) is not None:
            continue
        known = [k for k in mmdet_models.module_dict if k.endswith('Loss')]
        close = difflib.get_close_matches(type_name, known, n=3, cutoff=0.6)
        hint = ' Did you mean ' + ' or '.join(repr(c) for c in close) + '?' \
            if close else ''
        yield Finding('error', path, f'type={type_name!r} is not a registered loss.'
                      f'{hint} This package\'s losses are written '
                      f"type='mmdet_losses.<Name>'.")


def _check_loss_weights(cfg) -> Iterator[Finding]:
    for path, _, loss, _ in loss_dicts(cfg.get('model')):
        weight = loss.get('loss_weight', 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            yield Finding('error', path, f'loss_weight must be a number >= 0, got '
                          f'{weight!r}')
        elif weight < 0:
            yield Finding('error', path, f'loss_weight={weight} is negative: the '
                          'optimizer would maximise this loss. Use a weight >= 0.')


def _check_box_wiring(cfg) -> Iterator[Finding]:
    for path, key, loss, head in loss_dicts(cfg.get('model')):
        if key != 'loss_bbox' or not isinstance(head.get('type'), str):
            continue
        head_cls, loss_cls = resolve_model(head['type']), resolve_model(loss['type'])
        if head_cls is None or loss_cls is None:
            continue
        use = flag_use(head_cls)
        if use is None or decoded_flag(head_cls, head):
            continue
        loss_reads_flag, targets_read_flag = use
        head_path, name = path.rsplit('.', 1)[0], head_cls.__name__
        if targets_read_flag and not loss_reads_flag:
            yield Finding(
                'error', head_path,
                f'{name} always decodes its predictions into boxes in its loss, '
                'but with reg_decoded_bbox=False its targets are encoded deltas: '
                f'{loss["type"]} would compare boxes with deltas. Set '
                'reg_decoded_bbox=True in the head.')
        elif loss_reads_flag and targets_read_flag and compares_boxes(loss_cls):
            yield Finding(
                'error', head_path,
                f'{loss["type"]} compares boxes, but {name} passes it encoded '
                'deltas (reg_decoded_bbox=False): the loss falls and trains the '
                'wrong thing. Set reg_decoded_bbox=True in the head, or use a '
                "coordinate loss (type='mmdet_losses.L1Loss').")


def _check_softmax_prior(cfg) -> Iterator[Finding]:
    for path, head in softmax_heads_without_prior(cfg.get('model')):
        yield Finding(
            'error', path,
            f'{head["loss_cls"]["type"]} with use_sigmoid=False on {head["type"]} '
            'starts every anchor at a uniform softmax (a first loss in the '
            "hundreds): append dict(type='" + PRIOR_INIT_TYPE + "') to the head's "
            'init_cfg (mmdet_losses.engine.init.add_softmax_prior_init does it; '
            "this package's tools apply it to every config they start).")


def _check_same_names(cfg) -> Iterator[Finding]:
    losses = list(loss_dicts(cfg.get('model')))
    if not any(loss['type'].startswith(SCOPE) for _, _, loss, _ in losses):
        return
    names = same_name_different_loss()
    for path, _, loss, _ in losses:
        if loss['type'] in names:
            yield Finding(
                'warning', path,
                f"type={loss['type']!r} builds MMDetection's {loss['type']}, a "
                "different loss from mmdet_losses' of that name, while this config "
                "uses mmdet_losses' losses elsewhere. Write "
                f"type='mmdet_losses.{loss['type']}' for ours.")


# MMDetection's heads that give loss_cls (labels, scores) targets themselves: GFL
# (IoU), VFNet (IoU, with use_vfl) and TOOD (the task-alignment metric).
MMDET_QUALITY_TARGET_HEADS = ('GFLHead', 'VFNetHead', 'TOODHead')


def _check_quality_targets(cfg) -> Iterator[Finding]:
    """A quality loss of this package (QFL, VFL, MAL) in a head that passes it
    integer labels: the first step would stop on it; say which head to use."""
    quality = [(path, loss, head) for path, key, loss, head in
               loss_dicts(cfg.get('model'))
               if key == 'loss_cls' and loss['type'].startswith(SCOPE) and
               getattr(SPECS.get(loss['type'][len(SCOPE):]), 'targets', None) ==
               IOU_QUALITY and isinstance(head.get('type'), str)]
    if not quality:
        return
    from ..models import QUALITY_HEADS  # the heads' module: only where it matters
    ours = {swap['type'].split('.')[-1] for swap in QUALITY_HEADS.values()}
    for path, loss, head in quality:
        head_cls = resolve_model(head['type'])
        if head_cls is None or {k.__name__ for k in head_cls.__mro__} & (
                ours | set(MMDET_QUALITY_TARGET_HEADS)):
            continue
        swap = next((QUALITY_HEADS[k.__name__]['type'] for k in head_cls.__mro__
                     if k.__name__ in QUALITY_HEADS), None)
        fix = (f"use type='{swap}' for the head (custom_imports: "
               "'mmdet_losses.models')" if swap else
               'heads that give them: ' + ', '.join(
                   sorted(MMDET_QUALITY_TARGET_HEADS) +
                   [swap['type'] for swap in QUALITY_HEADS.values()]))
        yield Finding(
            'error', path.rsplit('.', 1)[0],
            f"{loss['type']} trains the class scores on (labels, IoU scores) "
            f'targets, but {head_cls.__name__} passes integer labels to loss_cls: '
            f'{fix}.')


# Heads that apply the sigmoid themselves and pass probabilities to their category
# losses (TOOD: loss_cls and initial_loss_cls).
PROBABILITY_HEADS = {'TOODHead': ('loss_cls', 'initial_loss_cls')}


def takes_probabilities(type_name: str) -> bool:
    """Whether the loss ``type_name`` (a config's ``type``) can score probabilities
    instead of logits: its class has an ``activated`` argument."""
    loss_cls = resolve_model(type_name)
    return loss_cls is not None and 'activated' in inspect.signature(
        loss_cls.__init__).parameters


def _check_probability_heads(cfg) -> Iterator[Finding]:
    """A category loss that would take a probability head's scores for logits (a
    second sigmoid: it trains, wrongly)."""
    for path, node in iter_dicts(cfg.get('model'), 'model'):
        head_cls = resolve_model(node['type']) if isinstance(
            node.get('type'), str) else None
        keys = next((PROBABILITY_HEADS[k.__name__] for k in getattr(
            head_cls, '__mro__', ()) if k.__name__ in PROBABILITY_HEADS), ())
        for key in keys:
            loss = node.get(key)
            if not isinstance(loss, dict) or not isinstance(loss.get('type'), str) \
                    or loss.get('activated', False) is True:
                continue
            fix = ('set activated=True in it'
                   if takes_probabilities(loss['type']) else
                   f"{loss['type']} takes logits only (it has no activated "
                   'argument): use a loss that does, e.g. '
                   "type='mmdet_losses.QualityFocalLoss' or 'mmdet_losses.FocalLoss'")
            yield Finding(
                'error', f'{path}.{key}',
                f'{head_cls.__name__} applies the sigmoid in the head and passes '
                f'probabilities to {key}; without activated=True the loss applies a '
                f'second sigmoid: {fix}.')


# The loss each mode of MMDetection's IoUCost measures (its cost is -w IoU or
# -w GIoU: the loss minus a constant).
IOU_COST_MEASURES = {'giou': 'GIoULoss', 'iou': 'IoULoss'}
# Options of a loss config that do not change what it measures.
_SCALE_OPTIONS = ('type', 'loss_weight', 'reduction', 'eps')


def _measure(loss: dict) -> Tuple[str, Tuple]:
    """What a box loss config measures: its class name and its other options
    (a linear IoULoss is the IoU cost; its log and square modes are not)."""
    options = {k: v for k, v in loss.items() if k not in _SCALE_OPTIONS}
    name = loss['type'].split('.')[-1]
    if name == 'IoULoss' and (options.pop('mode', None) == 'linear' or
                              options.pop('linear', False) is True):
        return name, tuple(sorted(options.items()))
    if name == 'IoULoss':
        return 'IoULoss (log or square)', ()
    return name, tuple(sorted((k, repr(v)) for k, v in options.items()))


def _iou_costs(model_cfg) -> Iterator[Tuple[str, dict]]:
    """``(path, cost)`` of every IoU cost of a matcher (``match_costs``)."""
    for path, node in iter_dicts(model_cfg, 'model'):
        for index, cost in enumerate(node.get('match_costs') or ()):
            if isinstance(cost, dict) and str(cost.get('type', '')).split('.')[-1] \
                    in ('IoUCost', 'BoxLossCost'):
                yield f'{path}.match_costs[{index}]', cost


def _cost_measure(cost: dict) -> Optional[Tuple[str, Tuple]]:
    if cost['type'].split('.')[-1] == 'IoUCost':
        name = IOU_COST_MEASURES.get(cost.get('iou_mode', 'giou'))
        return None if name is None else (name, ())
    loss = cost.get('loss')
    return _measure(loss) if isinstance(loss, dict) and 'type' in loss else None


def _describe_cost(cost: dict) -> str:
    if cost['type'].split('.')[-1] == 'IoUCost':
        return f"IoUCost(iou_mode={cost.get('iou_mode', 'giou')!r})"
    return f"BoxLossCost(loss={cost.get('loss')!r})"


def _check_match_costs(cfg) -> Iterator[Finding]:
    model = cfg.get('model')
    costs = list(_iou_costs(model))
    if not costs:
        return
    for path, key, loss, _ in loss_dicts(model):
        if key != 'loss_iou':
            continue
        measure = _measure(loss)
        weight = loss.get('loss_weight', 1.0)
        scoped = dict(loss, type=SCOPE + loss['type'].split('.')[-1])
        scoped.pop('loss_weight', None)
        for cost_path, cost in costs:
            if _cost_measure(cost) == measure:
                continue
            yield Finding(
                'warning', path,
                f"{loss['type']} trains the boxes while the matcher assigns the "
                f'queries by {_describe_cost(cost)} ({cost_path}): the loss scores '
                'an assignment made by another measure. To match by the loss, '
                f"write dict(type='mmdet_losses.BoxLossCost', loss={scoped!r}, "
                f"weight={weight!r}) there.")


CHECKS = (_check_scoped_names, _check_loss_types, _check_loss_weights,
          _check_box_wiring, _check_softmax_prior, _check_same_names,
          _check_quality_targets, _check_probability_heads, _check_match_costs)


def check_config(cfg) -> List[Finding]:
    """Every finding of every check on ``cfg`` (an MMEngine ``Config``)."""
    findings = []
    for check in CHECKS:
        findings.extend(check(cfg))
    return findings


def enforce(cfg, echo=print) -> List[Finding]:
    """Print the warnings of :func:`check_config`; raise :class:`ConfigError` if
    there is an error. Returns the findings."""
    findings = check_config(cfg)
    for finding in findings:
        if finding.level == 'warning':
            echo(f'config check: {finding}')
    if any(f.level == 'error' for f in findings):
        raise ConfigError(findings)
    return findings
