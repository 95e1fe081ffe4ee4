"""The ablation grid: named loss settings and one small config per run."""
import copy
import inspect
import itertools
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

CATEGORY_LOSSES: Dict[str, dict] = {
    'focal': dict(type='mmdet_losses.FocalLoss', use_sigmoid=True, gamma=2.0,
                  alpha=0.25, loss_weight=1.0),
    'bce': dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=True,
                loss_weight=1.0),
    'ce': dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=False,
               loss_weight=1.0),
    'softmax-focal': dict(type='mmdet_losses.FocalLoss', use_sigmoid=False,
                          gamma=2.0, alpha=0.25, loss_weight=1.0),
}

# Lp losses compare what the head regresses (deltas for anchor heads); the IoU family
# compares decoded boxes. Weights: 1.0 for Lp; IoU family 2.0 on anchor heads (the
# dense-head value, e.g. ATSS/GFL's GIoU), 1.0 on heads that decode themselves (FCOS).
LOCATION_LOSSES: Dict[str, dict] = {
    'l1': dict(type='mmdet_losses.L1Loss'),
    'l2': dict(type='mmdet_losses.L2Loss'),
    'smooth-l1': dict(type='mmdet_losses.SmoothL1Loss', beta=1.0 / 9.0),
    'iou': dict(type='mmdet_losses.IoULoss', mode='log'),
    'giou': dict(type='mmdet_losses.GIoULoss'),
    'diou': dict(type='mmdet_losses.DIoULoss'),
    'ciou': dict(type='mmdet_losses.CIoULoss'),
    'eiou': dict(type='mmdet_losses.EIoULoss'),
    'focal-eiou': dict(type='mmdet_losses.EIoULoss', focal_gamma=0.5),
    'siou': dict(type='mmdet_losses.SIoULoss'),
    'wiou': dict(type='mmdet_losses.WIoULoss', version='v3'),
    'wiou-v1': dict(type='mmdet_losses.WIoULoss', version='v1'),
    'alpha-giou': dict(type='mmdet_losses.GIoULoss', alpha=3.0),
    'nwd': dict(type='mmdet_losses.NWDLoss'),
}
_COORDINATE_LOSSES = ('L1Loss', 'L2Loss', 'SmoothL1Loss')
# A softmax head (use_sigmoid=False) starts at the background prior, as the softmax
# configs under configs/ do (configs/_base_/losses/softmax-ce.py): the heads' default
# init gives every one of the C + 1 logits the same bias, a uniform softmax.
SOFTMAX_HEAD_INIT = [
    dict(type='Normal', layer='Conv2d', std=0.01),
    dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01),
]


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
    """One point of the grid; ``seed`` None leaves MMEngine to draw (and log) one."""
    name: str
    cls_name: str
    reg_name: str
    loss_cls: dict
    loss_bbox: dict
    hyper: Dict[str, float] = field(default_factory=dict)
    seed: Optional[int] = None

    @property
    def setting(self) -> str:
        """The name without the seed: the runs that differ only by seed share it."""
        suffix = '' if self.seed is None else f'_s{self.seed}'
        return self.name[:len(self.name) - len(suffix)]

    def config_text(self, base_config: str, decoded_key: bool) -> str:
        """The run's config: the base config with both losses replaced."""
        cls = dict(self.loss_cls, _delete_=True)
        bbox = dict(self.loss_bbox, _delete_=True)
        softmax = not self.loss_cls.get('use_sigmoid', False)
        imports = ['mmdet_losses'] + (['mmdet_losses.utils.init'] if softmax else [])
        lines = [f'_base_ = [{osp.abspath(base_config)!r}]',
                 f'custom_imports = dict(imports={imports!r}, '
                 'allow_failed_imports=False)',
                 'model = dict(bbox_head=dict(']
        if softmax:
            lines.append(f'    init_cfg={SOFTMAX_HEAD_INIT!r},')
        if decoded_key:
            decoded = bbox['type'].split('.')[-1] not in _COORDINATE_LOSSES
            lines.append(f'    reg_decoded_bbox={decoded},')
        lines += [f'    loss_cls={cls!r},', f'    loss_bbox={bbox!r}))']
        if self.seed is not None:
            lines.append(f'randomness = dict(seed={self.seed})')
        return '\n'.join(lines + [''])


def head_has_decoded_option(base_config: str) -> bool:
    """Whether the base config's ``bbox_head`` takes ``reg_decoded_bbox`` (anchor
    heads do; FCOS always decodes)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules(init_default_scope=False)
    head_type = Config.fromfile(base_config).model.bbox_head.type
    head = MODELS.get(head_type)
    return any('reg_decoded_bbox' in inspect.signature(klass.__init__).parameters
               for klass in getattr(head, '__mro__', ())
               if '__init__' in vars(klass))


def _tag(value: float) -> str:
    return f'{value:g}'


def make_grid(cls_specs: Sequence[str],
              reg_specs: Sequence[str],
              gammas: Optional[Sequence[float]] = None,
              alphas: Optional[Sequence[float]] = None,
              reg_weights: Optional[Sequence[float]] = None,
              decoded_head: bool = True,
              seeds: Optional[Sequence[Optional[int]]] = None) -> List[Run]:
    """All combinations; ``gammas``/``alphas`` sweep focal losses only.

    ``seeds``: one run per seed of every setting, named ``<setting>_s<seed>``; a seed
    of None is a run with MMEngine's randomly drawn seed, named ``<setting>``.
    """
    seeds = list(seeds) if seeds else [None]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds must be distinct, got {seeds}')
    runs = []
    cls_settings = [parse_loss_spec(s, CATEGORY_LOSSES) for s in cls_specs]
    reg_settings = [parse_loss_spec(s, LOCATION_LOSSES) for s in reg_specs]
    for (cls_name, cls), (reg_name, reg) in itertools.product(cls_settings,
                                                              reg_settings):
        is_focal = cls['type'].endswith('FocalLoss')
        sweep_g = gammas if (is_focal and gammas) else [None]
        sweep_a = alphas if (is_focal and alphas) else [None]
        for gamma, alpha, weight in itertools.product(sweep_g, sweep_a,
                                                      reg_weights or [None]):
            loss_cls, loss_bbox, hyper, name = dict(cls), dict(reg), {}, \
                f'{cls_name}_{reg_name}'
            if gamma is not None:
                loss_cls['gamma'] = hyper['gamma'] = float(gamma)
                name += f'_g{_tag(gamma)}'
            if alpha is not None:
                loss_cls['alpha'] = hyper['alpha'] = float(alpha)
                name += f'_a{_tag(alpha)}'
            if weight is None:
                coordinate = reg['type'].split('.')[-1] in _COORDINATE_LOSSES
                weight = loss_bbox.get(
                    'loss_weight', 1.0 if coordinate or not decoded_head else 2.0)
            else:
                name += f'_w{_tag(weight)}'
            loss_bbox['loss_weight'] = hyper['reg_weight'] = float(weight)
            for seed in seeds:
                runs.append(Run(name if seed is None else f'{name}_s{seed}', cls_name,
                                reg_name, dict(loss_cls), dict(loss_bbox),
                                dict(hyper), seed))
    return runs
