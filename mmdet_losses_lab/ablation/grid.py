"""The ablation grid: named loss settings and one small config per run."""
import copy
import itertools
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet_losses.engine.init import softmax_head_init
from mmdet_losses.losses import SPECS, spec_of
from mmdet_losses.spec import REGRESSION_TARGETS

from .heads import (MATCH_COST_MODES, category_overrides, default_location_weight,
                    location_overrides, match_cost_overrides)
from .layout import DetectorLayout, inspect_detector, legacy_layout


def _settings(category: bool) -> Dict[str, dict]:
    """The grid's named settings: every preset of the losses' specs
    (:data:`mmdet_losses.losses.SPECS`), as ``configs/_base_/losses/<file>.py``
    writes it, and a category setting with its loss's weight (the same on every
    head), a location setting with the weight it carries, if any (GHM-R's); the
    others take their head kind's (heads.py: default_location_weight)."""
    settings = {}
    for spec in SPECS.values():
        if spec.category != category:
            continue
        for preset in spec.presets:
            loss = spec.config(preset)
            weight = spec.uniform_weight if category else None
            if preset.loss_weight is not None:
                weight = preset.loss_weight
            if weight is not None:
                loss['loss_weight'] = weight
            settings[preset.name] = loss
    return settings


# A quality setting (a loss of kind 'quality', IoU-quality targets) turns a
# RetinaHead or FCOSHead into its quality-aware version in the run's config
# (mmdet_losses.models).
CATEGORY_LOSSES: Dict[str, dict] = _settings(category=True)
# Lp losses compare what the head regresses (deltas for anchor heads); the IoU family
# compares decoded boxes. The head options and default weights of each follow from
# the detector (heads.py: location_overrides, default_location_weight).
LOCATION_LOSSES: Dict[str, dict] = _settings(category=False)
# A softmax head (use_sigmoid=False) starts at the background prior, as the softmax
# configs under configs/ do (configs/_base_/losses/softmax-ce.py): the heads' default
# init gives every one of the C + 1 logits the same bias, a uniform softmax.
SOFTMAX_HEAD_INIT = softmax_head_init()


def parse_loss_spec(spec: str, table: Dict[str, dict]) -> Tuple[str, dict]:
    """``'giou'`` (a name of ``table``) or ``'name=dict(type=..., ...)'`` (a custom
    setting, evaluated with ``dict`` and literals only)."""
    if '=' in spec.split('(')[0]:
        name, expr = spec.split('=', 1)
        try:
            loss = eval(expr, {'__builtins__': {}},
                        {'dict': dict, 'True': True, 'False': False, 'None': None})
        except Exception as error:
            raise ValueError(f'loss setting {spec!r} is not NAME=dict(...): {error}')
        if not isinstance(loss, dict) or 'type' not in loss:
            raise ValueError(f'loss setting {spec!r} must be a dict with a type')
        return name.strip(), loss
    if spec not in table:
        raise ValueError(f'unknown loss setting {spec!r}; known: {sorted(table)} '
                         "or NAME=dict(type='...', ...)")
    return spec, copy.deepcopy(table[spec])


@dataclass
class Run:
    """One point of the grid; ``seed`` None leaves MMEngine to draw (and log) one.

    ``loss_cls``/``loss_bbox`` are the losses of the detector's class-scoring head
    (the report's columns); ``overrides`` is the ``model`` part of the run's config
    (every loss site, with the head options each needs), ``base`` its ``_base_``.
    """
    name: str
    cls_name: str
    reg_name: str
    loss_cls: dict
    loss_bbox: dict
    hyper: Dict[str, float] = field(default_factory=dict)
    seed: Optional[int] = None
    overrides: dict = field(default_factory=dict)
    base: str = ''
    imports: Tuple[str, ...] = ('mmdet_losses',)

    @property
    def setting(self) -> str:
        """The name without the seed: the runs that differ only by seed share it."""
        suffix = '' if self.seed is None else f'_s{self.seed}'
        return self.name[:len(self.name) - len(suffix)]

    def config_text(self, base_config: Optional[str] = None,
                    decoded_key: Optional[bool] = None) -> str:
        """The run's config: the base config with the losses replaced.

        ``base_config`` (a path or a ``scope::`` name) replaces the run's own base;
        ``decoded_key`` is accepted for older callers and unused: the head options
        are part of the run (:func:`make_grid`'s ``layout``).
        """
        base = self.base if base_config is None else (
            base_config if '::' in base_config else osp.abspath(base_config))
        if not base:
            raise ValueError('the run has no base config: pass base_config')
        lines = [f'_base_ = [{base!r}]',
                 f'custom_imports = dict(imports={list(self.imports)!r}, '
                 'allow_failed_imports=False)',
                 f'model = {format_config(self.overrides)}']
        if self.seed is not None:
            lines.append(f'randomness = dict(seed={self.seed})')
        return '\n'.join(lines + [''])


def format_config(value, indent: int = 0) -> str:
    """``value`` as config source: dicts with identifier keys as ``dict(...)``, one
    key per line."""
    pad = ' ' * (indent + 4)
    if isinstance(value, dict) and value and all(
            isinstance(k, str) and k.isidentifier() for k in value):
        items = [f'{pad}{k}={format_config(v, indent + 4)}' for k, v in value.items()]
        return 'dict(\n' + ',\n'.join(items) + ')'
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        items = [f'{pad}{format_config(v, indent + 4)}' for v in value]
        return '[\n' + ',\n'.join(items) + ']'
    return repr(value)


def _set_path(tree: dict, path: Tuple, value: dict, layout: DetectorLayout) -> None:
    """Put a head's overrides at ``path``; a member of a list of heads (Cascade
    R-CNN) is written whole, since a config merges lists by replacing them."""
    node = tree
    for key in path[:-2]:
        node = node.setdefault(key, {})
    if isinstance(path[-1], int):
        heads = node.setdefault(path[-2], [copy.deepcopy(s.config) for s in
                                           layout.sites if s.path[:-1] == path[:-1]])
        head = heads[path[-1]]
        head.update({k: _without_delete(v) for k, v in value.items()})
        return
    node = node.setdefault(path[-2], {}) if len(path) > 1 else node
    node[path[-1]] = value


def _without_delete(value):
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != '_delete_'}
    return value


def wire_run(layout: DetectorLayout, loss_cls: dict, loss_bbox: dict,
             reg_weight: Optional[float], match_cost: str = 'follow'
             ) -> Tuple[dict, Tuple[str, ...], float]:
    """The ``model`` overrides of one setting on ``layout``'s detector;
    ``match_cost``: what a set-prediction head's matcher does with its IoU cost
    (:data:`~mmdet_losses_lab.ablation.heads.MATCH_COST_MODES`).

    Returns:
        ``(overrides, custom imports, the class-scoring head's location weight)``.
    Raises:
        IncompatibleSetting: the setting cannot train on this detector (why).
    """
    spec = spec_of(loss_bbox['type'])
    coordinate = spec is not None and spec.compares == REGRESSION_TARGETS
    softmax = loss_cls.get('use_sigmoid', True) is False
    overrides, imports, weights = {}, ['mmdet_losses'], {}
    for site in layout.sites:
        bbox = dict(loss_bbox, _delete_=True)
        if reg_weight is not None:
            bbox['loss_weight'] = float(reg_weight)
        else:
            bbox.setdefault('loss_weight', default_location_weight(site, spec))
        weights[site.path] = bbox['loss_weight']
        head = location_overrides(site, bbox, coordinate)
        if site.category:
            head.update(category_overrides(site, dict(loss_cls, _delete_=True),
                                           SOFTMAX_HEAD_INIT))
            if softmax and site.kind not in ('roi', 'set'):
                imports.append('mmdet_losses.engine.init')
            if str(head.get('type', '')).startswith('mmdet_losses.'):
                imports.append('mmdet_losses.models')
        _set_path(overrides, site.path, head, layout)
    if layout.set_prediction and not coordinate:
        train_cfg = match_cost_overrides(layout.match_costs, loss_bbox, match_cost)
        if train_cfg is not None:
            overrides['train_cfg'] = train_cfg
    return overrides, tuple(dict.fromkeys(imports)), weights[layout.primary.path]


def head_has_decoded_option(base_config: str) -> bool:
    """Whether the base config's class-scoring head takes ``reg_decoded_bbox``
    (anchor heads do; FCOS always decodes)."""
    return 'reg_decoded_bbox' in inspect_detector(base_config).primary.params


def _tag(value: float) -> str:
    return f'{value:g}'


def make_grid(cls_specs: Sequence[str],
              reg_specs: Sequence[str],
              gammas: Optional[Sequence[float]] = None,
              alphas: Optional[Sequence[float]] = None,
              reg_weights: Optional[Sequence[float]] = None,
              decoded_head: bool = True,
              seeds: Optional[Sequence[Optional[int]]] = None,
              layout: Optional[DetectorLayout] = None,
              match_costs: Sequence[str] = ('follow', )) -> List[Run]:
    """All combinations; ``gammas``/``alphas`` sweep focal losses only.

    ``match_costs``: on a set-prediction detector, each mode of its matcher's IoU
    cost (``'follow'``: the run's box loss; ``'keep'``: the base's); with both, the
    names end in ``_mfollow`` / ``_mkeep``. Refused on a detector without a matcher.

    ``seeds``: one run per seed of every setting, named ``<setting>_s<seed>``; a seed
    of None is a run with MMEngine's randomly drawn seed, named ``<setting>``.
    ``layout``: the base detector (:func:`~mmdet_losses_lab.ablation.layout.
    inspect_detector`); without it a single dense ``bbox_head`` that takes
    ``reg_decoded_bbox`` (``decoded_head``) or always decodes.

    Raises:
        IncompatibleSetting: a setting cannot train on the detector (before any run).
    """
    seeds = list(seeds) if seeds else [None]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds must be distinct, got {seeds}')
    layout = layout or legacy_layout(decoded_head)
    match_costs = list(dict.fromkeys(match_costs))
    for mode in match_costs:
        if mode not in MATCH_COST_MODES:
            raise ValueError(f'match cost mode must be one of {MATCH_COST_MODES}, '
                             f'got {mode!r}')
    if match_costs != ['follow'] and not layout.match_costs:
        raise ValueError(f'--match-cost {" ".join(match_costs)}: the detector of '
                         f'{layout.config or "the grid"} has no Hungarian matcher '
                         '(a set-prediction head) whose IoU cost could follow the loss')
    runs = []
    cls_settings = [parse_loss_spec(s, CATEGORY_LOSSES) for s in cls_specs]
    reg_settings = [parse_loss_spec(s, LOCATION_LOSSES) for s in reg_specs]
    for (cls_name, cls), (reg_name, reg) in itertools.product(cls_settings,
                                                              reg_settings):
        # FocalLoss's gamma and alpha only: QFL's beta and VFL's alpha differ.
        is_focal = cls['type'].split('.')[-1] == 'FocalLoss'
        sweep_g = gammas if (is_focal and gammas) else [None]
        sweep_a = alphas if (is_focal and alphas) else [None]
        for gamma, alpha, weight, mode in itertools.product(
                sweep_g, sweep_a, reg_weights or [None], match_costs):
            loss_cls, hyper, name = dict(cls), {}, f'{cls_name}_{reg_name}'
            if gamma is not None:
                loss_cls['gamma'] = hyper['gamma'] = float(gamma)
                name += f'_g{_tag(gamma)}'
            if alpha is not None:
                loss_cls['alpha'] = hyper['alpha'] = float(alpha)
                name += f'_a{_tag(alpha)}'
            if weight is not None:
                name += f'_w{_tag(weight)}'
            if len(match_costs) > 1:
                name += f'_m{mode}'
            overrides, imports, primary_weight = wire_run(layout, loss_cls, reg,
                                                          weight, mode)
            loss_bbox = dict(reg, loss_weight=primary_weight)
            hyper['reg_weight'] = primary_weight
            for seed in seeds:
                runs.append(Run(name if seed is None else f'{name}_s{seed}', cls_name,
                                reg_name, dict(loss_cls), dict(loss_bbox),
                                dict(hyper), seed, copy.deepcopy(overrides),
                                layout.base, imports))
    return runs
