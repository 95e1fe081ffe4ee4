"""Category losses against MMDetection: parity where the definitions agree, pinned
differences where they do not, and one forward/backward of tiny RetinaNet and FCOS
heads with each loss as ``loss_cls``."""
import copy
import math

import mmdet.models.losses as mmdet_module
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from mmdet.models.dense_heads import FCOSHead, RetinaHead

from mmdet_losses import CrossEntropyLoss, FocalLoss

N, C = 40, 5


def inputs(seed=0, dtype=torch.float64, channels=C):
    gen = torch.Generator().manual_seed(seed)
    pred = 2 * torch.randn(N, channels, generator=gen, dtype=dtype)
    labels = torch.randint(0, C + 1, (N, ), generator=gen)
    weight = torch.rand(N, generator=gen, dtype=dtype)
    weight_nc = torch.rand(N, channels, generator=gen, dtype=dtype)
    return pred, labels, weight, weight_nc


def assert_same(ours, theirs, pred, target, rtol=1e-12, **call):
    """Same value and same gradient in pred (absolute slack: float32 rounding of a
    gradient ``p - t`` that cancels to about 1e-5)."""
    x1 = pred.clone().requires_grad_()
    x2 = pred.clone().requires_grad_()
    out1, out2 = ours(x1, target, **call), theirs(x2, target, **call)
    torch.testing.assert_close(out1, out2, rtol=rtol, atol=1e-15)
    out1.sum().backward()
    out2.sum().backward()
    atol = 1e-15 if pred.dtype == torch.float64 else 1e-9
    torch.testing.assert_close(x1.grad, x2.grad, rtol=rtol, atol=atol)


CALLS = [
    {}, {'reduction_override': 'none'}, {'reduction_override': 'sum'},
    {'weight': 'n'}, {'weight': 'n', 'avg_factor': 7.0}, {'weight': 'nc'},
    {'weight': 'nc', 'reduction_override': 'none'},
]
CALL_IDS = ['mean', 'none', 'sum', 'w', 'w_avg', 'w_nc', 'w_nc_none']


def resolve(call, weight, weight_nc):
    call = dict(call)
    if 'weight' in call:
        call['weight'] = weight if call['weight'] == 'n' else weight_nc
    return call


@pytest.mark.parametrize('call', CALLS, ids=CALL_IDS)
@pytest.mark.parametrize('gamma, alpha', [(2.0, 0.25), (0.5, 0.5), (0.0, 0.25),
                                          (5.0, 0.9)])
def test_sigmoid_focal_matches_mmdet_cpu_path(call, gamma, alpha):
    # mmdet's CPU path: integer labels one-hot encoded, then py_sigmoid_focal_loss.
    pred, labels, weight, weight_nc = inputs()
    kwargs = dict(gamma=gamma, alpha=alpha, loss_weight=1.5)
    assert_same(FocalLoss(**kwargs), mmdet_module.FocalLoss(**kwargs), pred, labels,
                **resolve(call, weight, weight_nc))


@pytest.mark.parametrize('call', CALLS[:5], ids=CALL_IDS[:5])
def test_sigmoid_focal_float_targets_match_mmdet(call):
    pred, labels, weight, weight_nc = inputs(1)
    soft = torch.rand(N, C, generator=torch.Generator().manual_seed(5),
                      dtype=torch.float64)
    assert_same(FocalLoss(), mmdet_module.FocalLoss(), pred, soft,
                **resolve(call, weight, weight_nc))


@pytest.mark.parametrize('call', CALLS[:5], ids=CALL_IDS[:5])
def test_activated_focal_matches_mmdet(call):
    pred, labels, weight, weight_nc = inputs(2)
    probs = pred.sigmoid()
    assert_same(FocalLoss(activated=True), mmdet_module.FocalLoss(activated=True),
                probs, labels, **resolve(call, weight, weight_nc))


@pytest.mark.parametrize('call', CALLS[:5], ids=CALL_IDS[:5])
def test_sigmoid_ce_matches_mmdet(call):
    # float32: mmdet's cross-entropy casts weights and labels to float32. (mmdet
    # expands integer labels with (N,) weights only, so no (N, C) weights here.)
    pred, labels, weight, weight_nc = inputs(3, dtype=torch.float32)
    assert_same(CrossEntropyLoss(use_sigmoid=True, loss_weight=0.5),
                mmdet_module.CrossEntropyLoss(use_sigmoid=True, loss_weight=0.5),
                pred, labels, rtol=1e-5, **resolve(call, weight, weight_nc))


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_sigmoid_ce_ignore_index_matches_mmdet(avg_non_ignore):
    pred, labels, weight, _ = inputs(4, dtype=torch.float32)
    labels[::3] = 255
    kwargs = dict(use_sigmoid=True, ignore_index=255, avg_non_ignore=avg_non_ignore)
    ours, theirs = CrossEntropyLoss(**kwargs), mmdet_module.CrossEntropyLoss(**kwargs)
    assert_same(ours, theirs, pred, labels, rtol=1e-5)
    assert_same(ours, theirs, pred, labels, rtol=1e-5, weight=weight)


def test_sigmoid_ce_float_targets_match_mmdet():
    pred, _, weight, _ = inputs(5, dtype=torch.float32)
    soft = torch.rand(N, C, generator=torch.Generator().manual_seed(6))
    ours = CrossEntropyLoss(use_sigmoid=True)
    theirs = mmdet_module.CrossEntropyLoss(use_sigmoid=True)
    assert_same(ours, theirs, pred, soft, rtol=1e-5)
    assert_same(ours, theirs, pred, soft, rtol=1e-5,
                weight=weight[:, None].expand(N, C))


@pytest.mark.parametrize('call', CALLS[:5], ids=CALL_IDS[:5])
@pytest.mark.parametrize('kwargs', [
    {}, {'class_weight': [1.0, 2.0, 0.5, 1.0, 3.0, 0.1]},
    {'ignore_index': 2}, {'ignore_index': 2, 'avg_non_ignore': True},
    {'avg_non_ignore': True}, {'loss_weight': 3.0},
], ids=['plain', 'class_weight', 'ignore', 'ignore_avg', 'avg_non_ignore', 'lw'])
def test_softmax_ce_matches_mmdet(call, kwargs):
    pred, labels, weight, weight_nc = inputs(6, dtype=torch.float32,
                                             channels=C + 1)
    labels[::4] = -100 if 'ignore_index' not in kwargs else kwargs['ignore_index']
    assert_same(CrossEntropyLoss(**kwargs), mmdet_module.CrossEntropyLoss(**kwargs),
                pred, labels, rtol=1e-5, **resolve(call, weight, weight_nc))


DENSE_CALLS = [{}, {'reduction_override': 'none'}, {'reduction_override': 'sum'},
               {'weight': 'nc'}, {'weight': 'nc', 'avg_factor': 7.0}]


@pytest.mark.parametrize('call', DENSE_CALLS, ids=['mean', 'none', 'sum', 'w', 'w_avg'])
@pytest.mark.parametrize('ours, theirs', [
    (CrossEntropyLoss(use_sigmoid=True), mmdet_module.CrossEntropyLoss(use_sigmoid=True)),
    (FocalLoss(), mmdet_module.FocalLoss())], ids=['ce', 'focal'])
def test_integer_targets_of_pred_shape_are_binary_targets(call, ours, theirs):
    """SABL's bucket classification passes 0/1 targets of pred's shape as long, with
    (N, C) weights: MMDetection takes them as binary targets, and so do we (the value
    of the same targets as floats)."""
    pred, _, weight, weight_nc = inputs(9, dtype=torch.float32)
    binary = torch.randint(0, 2, (N, C), generator=torch.Generator().manual_seed(9))
    call = resolve(call, weight, weight_nc)
    assert_same(ours, theirs, pred, binary, rtol=1e-5, **call)
    torch.testing.assert_close(ours(pred, binary, **call),
                               ours(pred, binary.float(), **call))
    with pytest.raises(ValueError, match=r'\(40, 5\).*\[0, 1\], got 2'):
        ours(pred, binary * 2)


@pytest.mark.parametrize('ours, theirs', [
    (FocalLoss(use_sigmoid=True), mmdet_module.FocalLoss(use_sigmoid=True)),
    (CrossEntropyLoss(use_sigmoid=True),
     mmdet_module.CrossEntropyLoss(use_sigmoid=True))], ids=['focal', 'ce'])
def test_single_channel_all_zero_labels_as_mmdet(ours, theirs):
    """GuidedAnchorHead's location loss: one channel, and for an image without
    objects all-zero labels (label 0 is that channel's positive, 1 background). One
    channel cannot be a softmax head's C + 1 (no foreground class), so the
    background-channel check lets it through and the value is MMDetection's."""
    pred = torch.randn(64, 1, generator=torch.Generator().manual_seed(8))
    labels = torch.zeros(64, dtype=torch.long)
    torch.testing.assert_close(ours(pred, labels), theirs(pred, labels), rtol=1e-5,
                               atol=0)
    # two channels, background (label 1) the majority and no label 2: still refused
    with pytest.raises(ValueError, match="use_sigmoid=True in the head's loss_cls"):
        type(ours)(use_sigmoid=True)(torch.zeros(64, 2), labels + 1)


def test_class_weight_tensor_as_detr_head_builds_it():
    """DETRHead turns class_weight=1.0 and bg_cls_weight=0.1 into a (C + 1,) tensor
    before it builds its loss: ours takes the tensor, and its value is
    MMDetection's."""
    from mmdet.models.dense_heads import DETRHead
    config = dict(type='CrossEntropyLoss', bg_cls_weight=0.1, use_sigmoid=False,
                  loss_weight=1.0, class_weight=1.0)
    ours = DETRHead(num_classes=C, embed_dims=32,
                    loss_cls=dict(config, type='mmdet_losses.CrossEntropyLoss'))
    theirs = DETRHead(num_classes=C, embed_dims=32, loss_cls=config)
    assert type(ours.loss_cls) is CrossEntropyLoss
    torch.testing.assert_close(ours.loss_cls.class_weight,
                               torch.tensor([1.0] * C + [0.1], dtype=torch.float64))
    pred, labels, weight, _ = inputs(10, dtype=torch.float32, channels=C + 1)
    assert_same(ours.loss_cls, theirs.loss_cls, pred, labels, rtol=1e-5)
    assert_same(ours.loss_cls, theirs.loss_cls, pred, labels, rtol=1e-5,
                weight=weight, avg_factor=7.0)


def test_class_weight_is_a_buffer():
    """Kept on the module's device (moved by .to() / .cuda() with it), not copied
    from the host at every call; not in the state dict, so checkpoints are
    unchanged. A list and a tensor give the same loss."""
    loss = CrossEntropyLoss(use_sigmoid=True, class_weight=torch.tensor([1, 2, 0.5]))
    assert dict(loss.named_buffers())['class_weight'].tolist() == [1.0, 2.0, 0.5]
    assert 'class_weight' not in loss.state_dict()
    pred, labels, _, _ = inputs(11, channels=3)
    labels = labels.clamp(max=3)
    torch.testing.assert_close(
        loss(pred, labels),
        CrossEntropyLoss(use_sigmoid=True, class_weight=[1.0, 2.0, 0.5])(pred, labels))


@pytest.mark.parametrize('class_weight, message', [
    (torch.ones(2, 3), r'class_weight must be .* 1-D tensor .* shape \(2, 3\)'),
    (torch.tensor([1.0, -1.0]), r'class_weight\[1\] .* -1.0'),
    (1.0, r'class_weight must be .* got 1.0')])
def test_bad_class_weight_says_what_is_allowed(class_weight, message):
    with pytest.raises(ValueError, match=message):
        CrossEntropyLoss(class_weight=class_weight)


# ------------------------------------------------------------------ mask loss
def mask_inputs(seed, shape=(6, 4, 7, 7)):
    """Mask logits (N, C, *), binary mask targets (N, *) and labels (N,) in [0, C)."""
    gen = torch.Generator().manual_seed(seed)
    pred = 3 * torch.randn(shape, generator=gen, dtype=torch.float64)
    target = (torch.rand((shape[0], ) + shape[2:], generator=gen) > 0.5).double()
    labels = torch.randint(0, shape[1], (shape[0], ), generator=gen)
    return pred, target, labels


@pytest.mark.parametrize('shape', [(6, 4, 7, 7), (6, 1, 7, 7), (5, 3, 14)],
                         ids=['masks', 'class_agnostic', 'points'])
def test_mask_loss_matches_mmdet(shape):
    """use_mask=True as FCNMaskHead (masks (N, C, H, W)) and MaskPointHead (points
    (N, C, P)) call it, the labels third: MMDetection's value (its (1,) tensor, our
    scalar) and gradient; the maps of the other classes get a zero gradient."""
    pred, target, labels = mask_inputs(12, shape)
    x1, x2 = pred.clone().requires_grad_(), pred.clone().requires_grad_()
    ours = CrossEntropyLoss(use_mask=True, loss_weight=2.0)(x1, target, labels)
    theirs = mmdet_module.CrossEntropyLoss(use_mask=True, loss_weight=2.0)(
        x2, target, labels)
    assert ours.shape == () and theirs.shape == (1, )
    torch.testing.assert_close(ours, theirs[0], rtol=1e-12, atol=0)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-12, atol=1e-18)
    others = torch.ones(shape[:2], dtype=torch.bool)
    others[torch.arange(shape[0]), labels] = False
    assert x1.grad[others].abs().sum() == 0


def test_mask_loss_by_hand_and_its_reductions():
    """Two RoIs, two classes, 1 x 2 maps. RoI 0 (label 1): logits ln 3 and 0 on
    targets 1 and 0: BCE log(4/3) and log 2. RoI 1 (label 0): logits 0 on targets 1
    and 1: log 2 each. Mean over 4 elements: (log(4/3) + 3 log 2) / 4."""
    ln3, ln2, ln43 = math.log(3), math.log(2), math.log(4 / 3)
    pred = torch.tensor([[[[9.0, 9.0]], [[ln3, 0.0]]], [[[0.0, 0.0]], [[9.0, 9.0]]]])
    target = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    labels = torch.tensor([1, 0])
    loss = CrossEntropyLoss(use_mask=True)
    elements = torch.tensor([[[ln43, ln2]], [[ln2, ln2]]])
    torch.testing.assert_close(loss(pred, target, labels), elements.mean())
    torch.testing.assert_close(
        loss(pred, target, labels, reduction_override='none'), elements)
    torch.testing.assert_close(
        loss(pred, target, labels, reduction_override='sum'), elements.sum())
    torch.testing.assert_close(loss(pred, target, labels, avg_factor=2.0),
                               elements.sum() / (2.0 + torch.finfo().eps))
    # class_weight weighs each RoI by its label's weight: RoI 0 by 3, RoI 1 by 0.5
    weighted = CrossEntropyLoss(use_mask=True, class_weight=[0.5, 3.0])
    torch.testing.assert_close(
        weighted(pred, target, labels),
        (3.0 * elements[0].sum() + 0.5 * elements[1].sum()) / 4)


def test_mask_loss_class_weight_of_a_class_agnostic_head_as_mmdet():
    """One class weight for a class-agnostic head: MMDetection scales every element
    by it, and so do we (it is each RoI's label weight)."""
    pred, target, labels = mask_inputs(13, (6, 1, 7, 7))
    labels = torch.zeros_like(labels)
    ours = CrossEntropyLoss(use_mask=True, class_weight=[2.5])(pred, target, labels)
    theirs = mmdet_module.CrossEntropyLoss(use_mask=True, class_weight=[2.5])(
        pred, target, labels)
    torch.testing.assert_close(ours, theirs[0], rtol=1e-12, atol=0)


@pytest.mark.parametrize('call, error, message', [
    (lambda loss, p, t, l: loss(p, t), TypeError, "labels as its third argument"),
    (lambda loss, p, t, l: loss(p, t, l.double()), TypeError, 'float64'),
    (lambda loss, p, t, l: loss(p, t, l + 4), ValueError,
     r'labels \(use_mask=True\) must lie in \[0, 3\]'),
    (lambda loss, p, t, l: loss(p, t, l[:3]), ValueError, r'\(6, 4, 7, 7\).*\(3,\)'),
])
def test_mask_loss_input_errors(call, error, message):
    pred, target, labels = mask_inputs(14)
    with pytest.raises(error, match=message):
        call(CrossEntropyLoss(use_mask=True), pred, target, labels)


def test_mask_loss_needs_use_sigmoid_false():
    with pytest.raises(ValueError, match='use_mask=True .* use_sigmoid=True'):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)


# ---------------------------------------------------------- pinned differences

def test_sigmoid_class_weight_differs_from_mmdet_pos_weight():
    # C = 2, zero logits, one background row: every element is a negative, BCE ln 2.
    # Ours: class_weight [2, 3] weighs each class's whole loss: (2 + 3) ln 2 / 2.
    # mmdet: class_weight is BCE's pos_weight, which only scales positive terms:
    # no positive here, so the loss stays ln 2.
    pred = torch.zeros(1, 2)
    labels = torch.tensor([2])
    ours = CrossEntropyLoss(use_sigmoid=True, class_weight=[2.0, 3.0])(pred, labels)
    theirs = mmdet_module.CrossEntropyLoss(use_sigmoid=True,
                                           class_weight=[2.0, 3.0])(pred, labels)
    ln2 = torch.log(torch.tensor(2.0))
    torch.testing.assert_close(ours, 2.5 * ln2)
    torch.testing.assert_close(theirs, ln2)


def test_saturated_logits_with_small_gamma_stay_finite_unlike_mmdet():
    # gamma = 0.5, x = 100 on its true class: 1 - p_t is exactly 0 in float32 and
    # d/dq q^0.5 = inf at 0, so mmdet's py_sigmoid_focal_loss has a NaN gradient
    # (inf * 0); ours clamps 1 - p_t and stays finite (~0 for that element).
    pred = torch.tensor([[100.0, -100.0]])
    labels = torch.tensor([0])
    grads = []
    for loss in (FocalLoss(gamma=0.5), mmdet_module.FocalLoss(gamma=0.5)):
        x = pred.clone().requires_grad_()
        loss(x, labels).backward()
        grads.append(x.grad)
    ours, theirs = grads
    torch.testing.assert_close(ours, torch.zeros(1, 2), rtol=0, atol=1e-30)
    assert torch.isnan(theirs).any()


def test_mmcv_sigmoid_focal_loss_has_no_cpu_kernel():
    # Why the CPU comparisons use mmdet's py_sigmoid_focal_loss: mmcv's op (what
    # mmdet uses on CUDA) is compiled for CUDA only.
    from mmcv.ops import sigmoid_focal_loss
    with pytest.raises(RuntimeError, match='implementation for device cpu not found'):
        sigmoid_focal_loss(torch.zeros(2, 3), torch.tensor([0, 3]), 2.0, 0.25, None,
                           'mean')


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_sigmoid_focal_matches_mmcv_cuda():
    pred, labels, weight, _ = inputs(7, dtype=torch.float32)
    pred, labels, weight = pred.cuda(), labels.cuda(), weight.cuda()
    ours = FocalLoss()(pred, labels, weight, avg_factor=9.0)
    theirs = mmdet_module.FocalLoss()(pred, labels, weight, avg_factor=9.0)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------- heads

IMG_METAS = [{'img_shape': (64, 64), 'pad_shape': (64, 64), 'scale_factor': 1.0}]
# Two boxes, each overlapping one 32 x 32 stride-8 anchor with IoU > 0.6.
GT = dict(bboxes=torch.tensor([[4.0, 4.0, 36.0, 36.0], [30.0, 20.0, 60.0, 50.0]]),
          labels=torch.tensor([0, 2]))

LOSS_CLS = {
    'sigmoid_focal': dict(type='mmdet_losses.FocalLoss', use_sigmoid=True,
                          gamma=2.0, alpha=0.25, loss_weight=1.0),
    'sigmoid_ce': dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=True),
    'softmax_ce': dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=False),
    'softmax_focal': dict(type='mmdet_losses.FocalLoss', use_sigmoid=False,
                          gamma=2.0, alpha=0.25),
    'sigmoid_ghmc': dict(type='mmdet_losses.GHMC', bins=30, momentum=0.75,
                         use_sigmoid=True),
}


def retina_head(loss_cls):
    train_cfg = ConfigDict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                      min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
        debug=False)
    return RetinaHead(
        num_classes=3, in_channels=8, stacked_convs=1, feat_channels=8,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=1, ratios=[1.0], strides=[8, 16]),
        loss_cls=loss_cls, loss_bbox=dict(type='mmdet_losses.L1Loss'),
        train_cfg=train_cfg)


def fcos_head(loss_cls, loss_centerness=dict(type='CrossEntropyLoss',
                                             use_sigmoid=True)):
    return FCOSHead(
        num_classes=3, in_channels=8, stacked_convs=1, feat_channels=8,
        strides=[8, 16], regress_ranges=((-1, 32), (32, 1e8)), norm_cfg=None,
        loss_cls=loss_cls, loss_bbox=dict(type='mmdet_losses.GIoULoss'),
        loss_centerness=loss_centerness)


def head_loss(head, seed=0):
    torch.manual_seed(seed)
    head.init_weights()
    feats = [torch.rand(1, 8, 64 // s, 64 // s) for s in (8, 16)]
    outs = head(feats)
    losses = head.loss_by_feat(*outs, [InstanceData(**GT)], IMG_METAS)
    return {k: sum(v) if isinstance(v, (list, tuple)) else v
            for k, v in losses.items()}


@pytest.mark.parametrize('make_head', [retina_head, fcos_head], ids=['retina', 'fcos'])
@pytest.mark.parametrize('name', list(LOSS_CLS))
def test_head_forward_backward(make_head, name):
    head = make_head(copy.deepcopy(LOSS_CLS[name]))
    expected_channels = 3 if name.startswith('sigmoid') else 4
    assert head.cls_out_channels == expected_channels
    losses = head_loss(head)
    assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'].item() > 0
    assert losses['loss_bbox'].item() > 0             # the two boxes got positives
    total = sum(losses.values())
    assert torch.isfinite(total) and total.item() > 0
    total.backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    cls_grads = [p.grad for n, p in head.named_parameters() if 'cls' in n]
    assert any(g.abs().sum() > 0 for g in cls_grads)


@pytest.mark.parametrize('make_head', [retina_head, fcos_head], ids=['retina', 'fcos'])
@pytest.mark.parametrize('ours, theirs', [
    ('sigmoid_focal', dict(type='FocalLoss', use_sigmoid=True, gamma=2.0,
                           alpha=0.25, loss_weight=1.0)),
    ('softmax_ce', dict(type='CrossEntropyLoss', use_sigmoid=False)),
])
def test_head_loss_matches_mmdet(make_head, ours, theirs):
    # Same head, same weights: the classification loss equals mmdet's.
    ours_loss = head_loss(make_head(copy.deepcopy(LOSS_CLS[ours])))['loss_cls']
    theirs_loss = head_loss(make_head(theirs))['loss_cls']
    torch.testing.assert_close(ours_loss, theirs_loss, rtol=1e-5, atol=0)


@pytest.mark.parametrize('make_head', [retina_head, fcos_head], ids=['retina', 'fcos'])
def test_head_without_use_sigmoid_raises_clear_error(make_head):
    # mmdet's heads read use_sigmoid from the loss config (default False): without
    # it they predict C + 1 channels, which a sigmoid loss must refuse.
    head = make_head(dict(type='mmdet_losses.FocalLoss', gamma=2.0, alpha=0.25))
    assert head.cls_out_channels == 4
    with pytest.raises(ValueError, match=r"use_sigmoid=True in the head's loss_cls"):
        head_loss(head)


def test_ghmc_on_retina_head_matches_mmdet_and_runs_where_mmdet_cannot():
    # RetinaHead passes label_weights positionally, as GHMC's label_weight: ours
    # equals mmdet's there. FCOSHead passes none: mmdet's GHMC needs it (TypeError),
    # ours counts every element as valid.
    ghmc = dict(type='GHMC', bins=30, momentum=0.75, use_sigmoid=True)
    ours_loss = head_loss(retina_head(copy.deepcopy(LOSS_CLS['sigmoid_ghmc'])))
    theirs_loss = head_loss(retina_head(dict(ghmc)))
    torch.testing.assert_close(ours_loss['loss_cls'], theirs_loss['loss_cls'],
                               rtol=1e-5, atol=0)
    assert torch.isfinite(head_loss(fcos_head(
        copy.deepcopy(LOSS_CLS['sigmoid_ghmc'])))['loss_cls'])
    with pytest.raises(TypeError, match='label_weight'):
        head_loss(fcos_head(dict(ghmc)))


def test_fcos_centerness_with_our_sigmoid_ce():
    # FCOS and ATSS configs use CrossEntropyLoss(use_sigmoid=True) for centerness:
    # pred (P,) and float targets (P,), which mmdet's class accepts. Swapping in
    # ours must keep working (float targets of pred's shape are used as they are).
    ours = dict(type='mmdet_losses.CrossEntropyLoss', use_sigmoid=True)
    theirs = dict(type='CrossEntropyLoss', use_sigmoid=True)
    loss_cls = copy.deepcopy(LOSS_CLS['sigmoid_focal'])
    ours_loss = head_loss(fcos_head(loss_cls, ours))['loss_centerness']
    theirs_loss = head_loss(fcos_head(loss_cls, theirs))['loss_centerness']
    torch.testing.assert_close(ours_loss, theirs_loss, rtol=1e-5, atol=0)
