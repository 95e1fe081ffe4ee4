"""The config doctor and the registry: every wiring mistake of issue 11 is refused
with a message that names the fix, before any data is read; the right configs pass;
scoped names this package does not define are refused; the softmax prior init follows
from the loss for any dense head."""
import glob
import os.path as osp
import subprocess

import pytest
import torch
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdet_losses
from mmdet_losses.engine.doctor import ConfigError, check_config, enforce
from mmdet_losses.engine.init import SoftmaxPriorInit, add_softmax_prior_init
from mmdet_losses_lab.training.runner import add_nan_guard
from train_utils import PYTHON, RETINANET, ROOT, run

CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                      recursive=True) if '_base_' not in p)
GIOU = dict(type='mmdet_losses.GIoULoss', loss_weight=2.0)
L1 = dict(type='mmdet_losses.L1Loss', loss_weight=1.0)


@pytest.fixture(scope='module')
def mmdet_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp('configs')

    def load(name):
        path = folder / (name.replace('/', '_'))
        path.write_text(f'_base_ = "mmdet::{name}"\n')
        return Config.fromfile(str(path))

    return load


def errors(cfg):
    return [(f.path, f.message) for f in check_config(cfg) if f.level == 'error']


# ------------------------------------------------------------- IoU losses and deltas

def test_iou_loss_on_retinanet_deltas_is_refused():
    cfg = Config.fromfile(RETINANET)  # GIoU with reg_decoded_bbox=True: right
    assert errors(cfg) == []
    cfg.model.bbox_head.reg_decoded_bbox = False
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head'
    assert message.startswith('mmdet_losses.GIoULoss compares boxes, but RetinaHead '
                              'passes it encoded deltas (reg_decoded_bbox=False)')
    assert 'Set reg_decoded_bbox=True in the head' in message


def test_faster_rcnn_rpn_and_roi_heads_are_checked(mmdet_config):
    cfg = mmdet_config('faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    assert errors(cfg) == []  # MMDetection's own: L1 on deltas
    cfg.model.rpn_head.loss_bbox = dict(GIOU)
    cfg.model.roi_head.bbox_head.loss_bbox = dict(type='mmdet_losses.NWDLoss')
    found = errors(cfg)
    assert [path for path, _ in found] == ['model.rpn_head', 'model.roi_head.bbox_head']
    assert 'RPNHead passes it encoded deltas' in found[0][1]
    assert 'Shared2FCBBoxHead passes it encoded deltas' in found[1][1]
    cfg.model.rpn_head.reg_decoded_bbox = True
    cfg.model.roi_head.bbox_head.reg_decoded_bbox = True
    assert errors(cfg) == []


def test_atss_needs_decoded_targets_for_any_loss(mmdet_config):
    cfg = mmdet_config('atss/atss_r50_fpn_1x_coco.py')
    assert errors(cfg) == []  # ATSSHead's default reg_decoded_bbox=True
    cfg.model.bbox_head.loss_bbox = dict(L1)
    assert errors(cfg) == []
    cfg.model.bbox_head.reg_decoded_bbox = False
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head'
    assert message.startswith('ATSSHead always decodes its predictions into boxes '
                              'in its loss, but with reg_decoded_bbox=False its '
                              'targets are encoded deltas')


@pytest.mark.parametrize('name', ['gfl/gfl_r50_fpn_1x_coco.py',
                                  'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
                                  'tood/tood_r50_fpn_1x_coco.py',
                                  'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py'])
def test_heads_that_decode_themselves_pass(mmdet_config, name):
    cfg = mmdet_config(name)
    assert errors(cfg) == []
    head = cfg.model.get('bbox_head')
    if isinstance(head, dict):
        head.loss_bbox = dict(L1)  # a coordinate loss, on the boxes they decode
        assert errors(cfg) == []


@pytest.mark.parametrize('name, head, swap', [
    ('dino/dino-4scale_r50_8xb2-12e_coco.py', 'DINOHead',
     'mmdet_losses.QualityDINOHead'),
    ('detr/detr_r50_8xb2-150e_coco.py', 'DETRHead', 'mmdet_losses.QualityDETRHead'),
    ('retinanet/retinanet_r50_fpn_1x_coco.py', 'RetinaHead',
     'mmdet_losses.QualityRetinaHead'),
])
def test_a_quality_loss_in_a_head_that_passes_labels_is_refused(mmdet_config, name,
                                                                head, swap):
    """Before, the first step stopped on the loss's TypeError; now the doctor names
    the head that gives the targets, and the config with it passes."""
    import mmdet_losses.models  # noqa: F401  (what the fixed config imports)
    cfg = mmdet_config(name)
    cfg.model.bbox_head.loss_cls = dict(type='mmdet_losses.MatchabilityAwareLoss')
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head'
    assert message == (
        'mmdet_losses.MatchabilityAwareLoss trains the class scores on (labels, IoU '
        f'scores) targets, but {head} passes integer labels to loss_cls: use '
        f"type='{swap}' for the head (custom_imports: 'mmdet_losses.models').")
    cfg.model.bbox_head.type = swap
    assert errors(cfg) == []


def test_a_quality_loss_where_no_head_gives_its_targets_lists_those_that_do(
        mmdet_config):
    cfg = mmdet_config('atss/atss_r50_fpn_1x_coco.py')
    cfg.model.bbox_head.loss_cls = dict(type='mmdet_losses.VarifocalLoss')
    [(_, message)] = errors(cfg)
    assert message.endswith('but ATSSHead passes integer labels to loss_cls: heads '
                            'that give them: GFLHead, TOODHead, VFNetHead, '
                            'mmdet_losses.QualityRetinaHead, '
                            'mmdet_losses.QualityFCOSHead, '
                            'mmdet_losses.QualityDETRHead, '
                            'mmdet_losses.QualityDeformableDETRHead, '
                            'mmdet_losses.QualityDINOHead.')
    cfg.model.bbox_head.type = 'GFLHead'   # QFL's own detector: gives them
    assert errors(cfg) == []


@pytest.mark.parametrize('key, loss, fix', [
    ('loss_cls', dict(type='mmdet_losses.QualityFocalLoss', use_sigmoid=True),
     'set activated=True in it.'),
    ('initial_loss_cls', dict(type='mmdet_losses.FocalLoss', use_sigmoid=True),
     'set activated=True in it.'),
    ('loss_cls', dict(type='mmdet_losses.VarifocalLoss', use_sigmoid=True),
     'mmdet_losses.VarifocalLoss takes logits only (it has no activated argument)'),
])
def test_tood_losses_must_take_probabilities(mmdet_config, key, loss, fix):
    """TOOD applies the sigmoid in its head; before, a swapped-in loss without
    activated=True trained on sigmoid(sigmoid(x)) without a word."""
    cfg = mmdet_config('tood/tood_r50_fpn_1x_coco.py')
    assert errors(cfg) == []   # MMDetection's: both activated=True
    cfg.model.bbox_head[key] = loss
    [(path, message)] = errors(cfg)
    assert path == f'model.bbox_head.{key}'
    assert message.startswith(f'TOODHead applies the sigmoid in the head and passes '
                              f'probabilities to {key}; without activated=True')
    assert fix in message
    if 'VarifocalLoss' not in loss['type']:
        cfg.model.bbox_head[key]['activated'] = True
        assert errors(cfg) == []


# ------------------------------------------------------------- names

def test_scoped_name_we_do_not_define_is_refused_with_a_suggestion():
    cfg = Config.fromfile(RETINANET)
    cfg.model.bbox_head.loss_bbox = dict(type='mmdet_losses.BoundedIoULoss')
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head.loss_bbox'
    assert message.startswith('mmdet_losses.BoundedIoULoss is not in the '
                              'mmdet_losses::model registry')
    assert "For MMDetection's own BoundedIoULoss, write type='BoundedIoULoss'" \
        in message
    assert 'GIoULoss' in message  # the list of ours


def test_registry_refuses_the_silent_fallback():
    # Before: MMEngine looked the name up in our registry, missed, and returned
    # MMDetection's class of that name.
    with pytest.raises(KeyError, match=r'mmdet_losses\.BoundedIoULoss is not in the '
                       r'mmdet_losses::model registry'):
        MMDET_MODELS.build(dict(type='mmdet_losses.BoundedIoULoss'))
    with pytest.raises(KeyError, match=r"Did you mean type='mmdet_losses.GIoULoss'"):
        MMDET_MODELS.build(dict(type='mmdet_losses.GIoULos'))
    assert type(MMDET_MODELS.build(dict(type='BoundedIoULoss'))).__module__ \
        .startswith('mmdet.')
    built = MMDET_MODELS.build(dict(type='mmdet_losses.GIoULoss'))
    assert type(built) is mmdet_losses.GIoULoss


def test_hook_and_init_names_are_scoped_too():
    cfg = Config.fromfile(RETINANET)
    cfg.custom_hooks = [dict(type='mmdet_losses.NaNGuardHok')]
    [(path, message)] = errors(cfg)
    assert path == 'custom_hooks[0]'
    assert "Did you mean type='mmdet_losses.NaNGuardHook'?" in message


def test_type_typo_gets_did_you_mean():
    cfg = Config.fromfile(RETINANET)
    cfg.model.bbox_head.loss_cls = dict(type='FocalLos', use_sigmoid=True)
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head.loss_cls'
    assert message.startswith("type='FocalLos' is not a registered loss. Did you "
                              "mean 'FocalLoss'")


def test_mmdet_names_mixed_with_ours_warn():
    cfg = Config.fromfile(RETINANET)
    cfg.model.bbox_head.loss_bbox = dict(type='EIoULoss', loss_weight=2.0)
    [finding] = check_config(cfg)
    assert finding.level == 'warning' and finding.path == 'model.bbox_head.loss_bbox'
    assert "type='EIoULoss' builds MMDetection's EIoULoss" in finding.message
    assert "Write type='mmdet_losses.EIoULoss' for ours" in finding.message
    assert enforce(cfg, echo=lambda _: None) == [finding]  # a warning does not stop
    cfg.model.bbox_head.loss_cls = dict(type='FocalLoss', use_sigmoid=True)
    assert check_config(cfg) == []  # all MMDetection's: nothing mixed up


# ------------------------------------------------------------- weights

def test_negative_loss_weight_is_refused():
    cfg = Config.fromfile(RETINANET)
    cfg.model.bbox_head.loss_cls.loss_weight = -1.0
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head.loss_cls'
    assert message.startswith('loss_weight=-1.0 is negative')
    with pytest.raises(ConfigError, match='1 config error'):
        enforce(cfg)
    with pytest.raises(ValueError, match=r'^loss_weight must be >= 0.0, got -1.0$'):
        mmdet_losses.L1Loss(loss_weight=-1.0)
    assert mmdet_losses.L1Loss(loss_weight=0.0).loss_weight == 0.0


def test_finite_number_message_says_it_once():
    from mmdet_losses.functional.validation import check_number

    with pytest.raises(ValueError, match=r"^eps must be a finite number, got 'x'$"):
        check_number('eps', 'x')
    with pytest.raises(ValueError, match=r'^loss_weight must be a finite number '
                       r'>= 0.0, got nan$'):
        mmdet_losses.L1Loss(loss_weight=float('nan'))


# ------------------------------------------------------------- softmax prior

def softmax_retinanet():
    cfg = Config.fromfile(RETINANET)
    cfg.model.bbox_head.loss_cls = dict(type='mmdet_losses.CrossEntropyLoss',
                                        use_sigmoid=False, loss_weight=1.0)
    return cfg


def test_softmax_loss_without_prior_init_is_refused_and_added():
    cfg = softmax_retinanet()
    [(path, message)] = errors(cfg)
    assert path == 'model.bbox_head'
    assert "append dict(type='mmdet_losses.SoftmaxPriorInit')" in message
    assert add_softmax_prior_init(cfg) == ['model.bbox_head']
    assert errors(cfg) == []
    # RetinaHead's own default init comes first, ours last.
    init = cfg.model.bbox_head.init_cfg
    assert init[0]['type'] == 'Normal' and init[0]['override']['name'] == 'retina_cls'
    assert init[-1] == dict(type='mmdet_losses.SoftmaxPriorInit', prior_prob=0.01)
    assert add_softmax_prior_init(cfg) == []  # idempotent


@pytest.mark.parametrize('head', [
    dict(type='RetinaHead', stacked_convs=1,
         anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                               scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                               strides=[8, 16, 32])),
    dict(type='ATSSHead', stacked_convs=1,
         anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                               octave_base_scale=8, scales_per_octave=1,
                               strides=[8, 16, 32])),
    dict(type='FCOSHead', stacked_convs=1, strides=[8, 16, 32]),
], ids=['retina', 'atss', 'fcos'])
def test_prior_init_follows_from_the_loss_for_any_dense_head(head):
    # softmax over C + 1 = 4 logits per prior: background 0.99, classes 0.01 / 3.
    head = dict(head, num_classes=3, in_channels=32, feat_channels=32,
                loss_cls=dict(type='mmdet_losses.FocalLoss', use_sigmoid=False))
    cfg = Config(dict(model=dict(type='RetinaNet', bbox_head=head)))
    assert add_softmax_prior_init(cfg) == ['model.bbox_head']
    init_default_scope('mmdet')
    built = MMDET_MODELS.build(cfg.model.bbox_head)
    built.init_weights()
    from mmdet_losses.engine.init import classification_convs

    [(name, conv)] = classification_convs(built)
    probs = conv.bias.detach().view(-1, 4).softmax(-1)
    torch.testing.assert_close(probs[:, 3], torch.full_like(probs[:, 3], 0.99))
    torch.testing.assert_close(probs[:, :3], torch.full_like(probs[:, :3], 0.01 / 3))


def test_prior_init_needs_no_extra_import():
    from mmengine.registry import WEIGHT_INITIALIZERS

    init_default_scope('mmdet')
    built = WEIGHT_INITIALIZERS.build(dict(type='mmdet_losses.SoftmaxPriorInit'))
    assert type(built) is SoftmaxPriorInit


# ------------------------------------------------------------- every config, tools

def test_every_config_of_the_package_passes():
    for path in CONFIGS:
        cfg = Config.fromfile(path)
        add_nan_guard(cfg)
        assert errors(cfg) == [], path


def test_check_config_tool(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text(f'_base_ = {RETINANET!r}\n'
                   'model = dict(bbox_head=dict(reg_decoded_bbox=False))\n')
    result = subprocess.run([PYTHON, osp.join(ROOT, 'tools', 'check_config.py'),
                             RETINANET, str(bad)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f'{RETINANET}: 0 error(s), 0 warning(s)'
    assert lines[1] == f'{bad}: 1 error(s), 0 warning(s)'
    assert lines[2].startswith('  error: model.bbox_head: mmdet_losses.GIoULoss '
                               'compares boxes')
    assert result.stderr == ''  # no pkg_resources warnings


def test_train_py_stops_before_reading_data(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text(f'_base_ = {RETINANET!r}\n'
                   'model = dict(bbox_head=dict(reg_decoded_bbox=False))\n')
    missing = str(tmp_path / 'no_data_here')
    result = subprocess.run(
        [PYTHON, osp.join(ROOT, 'tools', 'train.py'), str(bad), '--work-dir',
         str(tmp_path / 'work'), '--data-root', missing],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert '1 config error(s):\n  error: model.bbox_head: mmdet_losses.GIoULoss ' \
        'compares boxes' in result.stderr
    assert 'Traceback' not in result.stderr and not osp.exists(missing)
    run([PYTHON, osp.join(ROOT, 'tools', 'train.py'), '--help'])
