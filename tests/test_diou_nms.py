"""DIoU-NMS (arXiv:1911.08287): the functions against a reference loop and hand-derived
cases, the mmcv ``batched_nms`` hook, and ``test_cfg`` of RetinaNet and FCOS."""
import importlib

import pytest
import torch

import mmdet_losses  # noqa: F401  (registers type='diou_nms' with mmcv)
from mmdet_losses.ops import batched_diou_nms, diou_nms, mmcv_diou_nms, pairwise_diou

# the module (the package's attribute of that name is the function)
diou_nms_module = importlib.import_module('mmdet_losses.ops.diou_nms')
independent_groups = diou_nms_module.independent_groups


def reference_diou_nms(boxes, scores, iou_threshold, beta=1.0, idxs=None,
                       strict=False):
    """Greedy DIoU-NMS, one box at a time, in Python floats (float64), written from
    the paper: suppress when ``IoU - (rho^2 / c^2)^beta >= threshold`` with a kept box
    of the same class. ``strict=True`` is the authors' code's ``>``."""
    b, s = boxes.double().tolist(), scores.double().tolist()
    classes = idxs.tolist() if idxs is not None else [0] * len(b)
    kept = []
    for i in sorted(range(len(s)), key=lambda k: -s[k]):  # stable, like the op
        suppressed = False
        for j in kept:
            if classes[i] != classes[j]:
                continue
            (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = b[j], b[i]
            inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * \
                max(0.0, min(ay2, by2) - max(ay1, by1))
            union = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1) + \
                max(0.0, bx2 - bx1) * max(0.0, by2 - by1) - inter
            iou = inter / union if union > 0 else 0.0
            rho_sq = ((ax1 + ax2 - bx1 - bx2) / 2)**2 + ((ay1 + ay2 - by1 - by2) / 2)**2
            c_sq = (max(ax1, ax2, bx1, bx2) - min(ax1, ax2, bx1, bx2))**2 + \
                (max(ay1, ay2, by1, by2) - min(ay1, ay2, by1, by2))**2
            diou = iou - (rho_sq / c_sq if c_sq > 0 else 0.0)**beta
            if diou > iou_threshold if strict else diou >= iou_threshold:
                suppressed = True
                break
        if not suppressed:
            kept.append(i)
    return kept


def detections(n, seed, objects=None, dtype=torch.float64):
    """Boxes like a detector's before NMS: ``n`` boxes jittered around ``objects``
    ground-truth boxes (size 10-110 px in a 300 px image), random scores."""
    generator = torch.Generator().manual_seed(seed)
    objects = objects or max(n // 8, 1)
    centre = torch.rand(objects, 2, generator=generator, dtype=dtype) * 300
    size = 10 + torch.rand(objects, 2, generator=generator, dtype=dtype) * 100
    which = torch.randint(0, objects, (n, ), generator=generator)
    jitter = torch.randn(n, 4, generator=generator, dtype=dtype) * 0.15
    centre, size = centre[which] + jitter[:, :2] * size[which], \
        size[which] * torch.exp(jitter[:, 2:])
    boxes = torch.cat([centre - size / 2, centre + size / 2], dim=1)
    return boxes, torch.rand(n, generator=generator, dtype=dtype)


# ----------------------------------------------------------------- hand-derived cases
def test_keeps_what_plain_nms_drops_when_centres_are_far_apart():
    # A = [0,0,10,10], B = [4,0,14,10]: inter 6*10 = 60, union 100 + 100 - 60 = 140,
    # IoU = 3/7 = 0.4286 > 0.4, so plain NMS drops B. Centres (5,5), (9,5): rho^2 = 16;
    # enclosing box [0,0,14,10]: c^2 = 196 + 100 = 296, R = 16/296 = 2/37 = 0.0541.
    # beta 1: 0.4286 - 0.0541 = 0.3745 < 0.4, B survives.
    # beta 2: 0.4286 - 0.0029 = 0.4257 >= 0.4, B is suppressed again.
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0]])
    scores = torch.tensor([0.9, 0.8])
    from mmcv.ops import nms
    assert nms(boxes, scores, 0.4)[1].tolist() == [0]
    assert diou_nms(boxes, scores, 0.4).tolist() == [0, 1]
    assert diou_nms(boxes, scores, 0.4, beta=2.0).tolist() == [0]
    # the criterion at the boundary: 3/7 - 2/37 = 0.374517 decides at 0.3745 / 0.3746
    assert diou_nms(boxes, scores, 0.3745).tolist() == [0]
    assert diou_nms(boxes, scores, 0.3746).tolist() == [0, 1]
    diou = pairwise_diou(boxes, boxes)
    assert diou.shape == (2, 2)
    assert diou[0, 1].item() == pytest.approx(3 / 7 - 2 / 37, abs=1e-6)
    assert diou[1, 0].item() == diou[0, 1].item()  # symmetric
    assert diou[0, 0].item() == pytest.approx(1.0, abs=1e-6)  # a box with itself


def test_paper_suppresses_at_the_threshold_where_official_code_and_plain_nms_keep():
    # A = [0,0,4,4], B = [1,1,3,3]: same centre (rho = 0), IoU = 4/16 = 0.25 exactly.
    # The paper suppresses when DIoU >= 0.25; the authors' code (DIoU-SSD-pytorch
    # `diounms`, keeps `DIoU <= overlap`), torchvision and mmcv suppress only when > .
    boxes = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 3.0]])
    scores = torch.tensor([0.9, 0.8])
    assert diou_nms(boxes, scores, 0.25).tolist() == [0]
    assert reference_diou_nms(boxes, scores, 0.25) == [0]
    assert reference_diou_nms(boxes, scores, 0.25, strict=True) == [0, 1]
    from mmcv.ops import nms
    assert nms(boxes, scores, 0.25)[1].tolist() == [0, 1]


def test_order_dtype_and_ties():
    # Three disjoint boxes (IoU 0: all kept), returned by decreasing score; equal
    # scores keep the input order.
    boxes = torch.tensor([[0.0, 0, 1, 1], [5, 5, 6, 6], [10, 10, 11, 11],
                          [20, 20, 21, 21]])
    keep = diou_nms(boxes, torch.tensor([0.2, 0.9, 0.5, 0.5]), 0.5)
    assert keep.dtype == torch.int64 and keep.tolist() == [1, 2, 3, 0]


def test_empty_and_single_box():
    empty = diou_nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert empty.dtype == torch.int64 and empty.shape == (0, )
    empty = batched_diou_nms(torch.zeros(0, 4), torch.zeros(0),
                             torch.zeros(0, dtype=torch.long), 0.5)
    assert empty.dtype == torch.int64 and empty.shape == (0, )
    assert diou_nms(torch.tensor([[1.0, 2, 3, 4]]), torch.tensor([0.3]),
                    0.5).tolist() == [0]


def test_degenerate_boxes_are_finite_decisions():
    # Two identical point boxes: IoU 0 (0 / 0 made 0) and rho = c = 0, DIoU = 0: only
    # a threshold of 0 suppresses the second. A zero-width box inside a proper box
    # has IoU 0, and an inverted box ([3,3,1,1]: zero area) too.
    points = torch.tensor([[2.0, 2, 2, 2], [2.0, 2, 2, 2]])
    scores = torch.tensor([0.9, 0.8])
    assert diou_nms(points, scores, 0.0).tolist() == [0]
    assert diou_nms(points, scores, 0.1).tolist() == [0, 1]
    boxes = torch.tensor([[0.0, 0, 4, 4], [2.0, 0, 2, 4], [3.0, 3, 1, 1]])
    assert diou_nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.01).tolist() == [0, 1, 2]


# -------------------------------------------------------------- against the reference
def test_equals_plain_nms_when_centres_coincide():
    # Boxes with half-sizes in steps of 1/8 px on integer centres: every coordinate
    # and centre is exact in float32, rho = 0, and DIoU-NMS is plain NMS for every
    # beta (checked against mmcv's compiled nms, which also computes in float32).
    # The thresholds are not dyadic, so that no IoU equals one exactly (where the
    # paper's >= and mmcv's > differ, see above).
    from mmcv.ops import nms
    generator = torch.Generator().manual_seed(0)
    centres = torch.randint(20, 200, (6, 2), generator=generator).float()
    which = torch.randint(0, 6, (300, ), generator=generator)
    half = torch.randint(8, 320, (300, 2), generator=generator).float() / 8
    boxes = torch.cat([centres[which] - half, centres[which] + half], dim=1)
    scores = torch.rand(300, generator=generator)
    for threshold in (0.35, 0.55, 0.65):
        plain = nms(boxes, scores, threshold)[1].tolist()
        assert len(plain) < 300 // 2  # the check has something to suppress
        for beta in (0.5, 1.0, 4.0):
            assert diou_nms(boxes, scores, threshold, beta).tolist() == plain


@pytest.mark.parametrize('seed', [0, 1, 2])
@pytest.mark.parametrize('threshold,beta', [(0.3, 0.6), (0.5, 1.0), (0.7, 3.0)])
def test_random_sets_match_the_reference_loop(seed, threshold, beta):
    # 600 boxes: three blocks of the greedy pass (BLOCK_SIZE 256).
    boxes, scores = detections(600, seed)
    keep = diou_nms(boxes, scores, threshold, beta)
    expected = reference_diou_nms(boxes, scores, threshold, beta)
    assert keep.tolist() == expected
    assert 0 < len(expected) < 600


def test_small_blocks_and_chunks_give_the_same_result(monkeypatch):
    # Block edges and the chunking of the kept rows must not change the result.
    boxes, scores = detections(200, 3)
    expected = reference_diou_nms(boxes, scores, 0.5)
    monkeypatch.setattr(diou_nms_module, 'BLOCK_SIZE', 7)
    monkeypatch.setattr(diou_nms_module, 'MAX_PAIRS', 50)
    assert diou_nms(boxes, scores, 0.5).tolist() == expected


def test_fp16_and_float32_inputs():
    # Half-precision boxes are computed in float32: the result equals float32's on the
    # same (rounded) values, and the float32 result equals the float64 reference.
    boxes, scores = detections(300, 4, dtype=torch.float32)
    expected = reference_diou_nms(boxes, scores, 0.5)
    assert diou_nms(boxes, scores, 0.5).tolist() == expected
    half_boxes, half_scores = boxes.half(), scores.half()
    keep = diou_nms(half_boxes, half_scores, 0.5)
    assert keep.dtype == torch.int64
    assert keep.tolist() == diou_nms(half_boxes.float(), half_scores.float(),
                                     0.5).tolist()
    assert keep.tolist() == reference_diou_nms(half_boxes, half_scores, 0.5)


def test_batched_suppresses_within_a_class_only():
    # The same box twice: one class -> one kept; two classes -> both kept.
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10], [1.0, 0, 11, 10]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert batched_diou_nms(boxes, scores, torch.tensor([0, 0, 0]), 0.5).tolist() == [0]
    assert batched_diou_nms(boxes, scores, torch.tensor([0, 1, 1]),
                            0.5).tolist() == [0, 1]
    assert batched_diou_nms(boxes, scores, torch.tensor([0, 1, 2]),
                            0.5).tolist() == [0, 1, 2]
    # Random classes against the reference, over several blocks.
    boxes, scores = detections(500, 5)
    idxs = torch.randint(0, 4, (500, ), generator=torch.Generator().manual_seed(5))
    assert batched_diou_nms(boxes, scores, idxs, 0.5).tolist() == \
        reference_diou_nms(boxes, scores, 0.5, idxs=idxs)


def test_batched_is_exact_where_offsets_are_not():
    # Two classes at threshold 0 and a large beta. Shifted apart by mmcv's offset
    # trick, the pair's penalty (rho^2/c^2)^beta underflows to 0: DIoU = 0 >= 0 would
    # suppress across classes if the pair were compared. The class mask keeps them
    # apart, and so does the gap along x between the shifted boxes.
    boxes = torch.tensor([[0.0, 0, 10, 10], [0.0, 0, 10, 10]])
    scores = torch.tensor([0.9, 0.8])
    idxs = torch.tensor([0, 1])
    assert batched_diou_nms(boxes, scores, idxs, 0.0, beta=500.0).tolist() == [0, 1]
    shifted = boxes + (idxs.float() * (boxes.max() + 1))[:, None]
    assert pairwise_diou(shifted[:1], shifted[1:], beta=500.0).item() == 0.0
    assert diou_nms(shifted, scores, 0.0, beta=500.0).tolist() == [0, 1]


def test_independent_groups():
    # Along x: [0, 10] and [5, 12] overlap (one group), [12, 20] only touches the
    # reach 12 (same group: no gap), [30, 40] starts after a gap (a new group).
    # Inverted [45, 41] spans 41..45, overlapping nothing before it: a new group.
    boxes = torch.tensor([[0.0, 0, 10, 10], [30.0, 0, 40, 10], [5.0, 0, 12, 10],
                          [12.0, 0, 20, 10], [45.0, 0, 41, 10]])
    assert independent_groups(boxes).tolist() == [0, 1, 0, 0, 2]
    # with classes: a group is one class and one gap-free run along x
    idxs = torch.tensor([1, 1, 0, 1, 0])
    keys = independent_groups(boxes, idxs)
    same_group = (keys[:, None] == keys[None, :]).int().tolist()
    assert same_group == [[1, 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0],
                          [1, 0, 0, 1, 0], [0, 0, 0, 0, 1]]


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(iou_threshold=-0.1), ValueError, r'iou_threshold must be in \[0.0, 1.0\], '
     r'got -0.1'),
    (dict(iou_threshold=1.5), ValueError, 'iou_threshold must be in .* got 1.5'),
    (dict(iou_threshold=float('nan')), ValueError, 'iou_threshold must be a finite'),
    (dict(iou_threshold='0.5'), ValueError, "iou_threshold .* got '0.5'"),
    (dict(beta=0.0), ValueError, r'beta must be > 0.0, got 0.0'),
    (dict(beta=-1), ValueError, r'beta must be > 0.0, got -1'),
    (dict(boxes=torch.zeros(3, 5)), ValueError, r'boxes must have shape \(N, 4\).*'
     r'got \(3, 5\)'),
    (dict(boxes=torch.zeros(4)), ValueError, r'boxes must have shape \(N, 4\)'),
    (dict(scores=torch.zeros(2)), ValueError, r'scores must have shape \(N,\) = '
     r'\(3,\).*got \(2,\)'),
    (dict(scores=torch.zeros(3, 1)), ValueError, r'scores must have shape'),
    (dict(boxes=[[0, 0, 1, 1]]), TypeError, 'boxes must be a torch.Tensor, got list'),
    (dict(idxs=torch.zeros(3)), TypeError, 'idxs must be an integer tensor, got '
     'torch.float32'),
    (dict(idxs=torch.zeros(2, dtype=torch.long)), ValueError,
     r'idxs must have shape \(N,\) = \(3,\)'),
])
def test_bad_arguments_are_named(kwargs, error, match):
    args = dict(boxes=torch.rand(3, 4), scores=torch.rand(3), iou_threshold=0.5,
                beta=1.0)
    args.update(kwargs)
    if 'idxs' in args:
        with pytest.raises(error, match=match):
            batched_diou_nms(args['boxes'], args['scores'], args['idxs'],
                             args['iou_threshold'], args['beta'])
    else:
        with pytest.raises(error, match=match):
            diou_nms(**args)
        with pytest.raises(error, match=match):
            batched_diou_nms(args['boxes'], args['scores'],
                             torch.zeros(3, dtype=torch.long), args['iou_threshold'],
                             args['beta'])


# ------------------------------------------------------------------ mmcv batched_nms
def test_registered_where_mmcv_batched_nms_looks():
    from mmcv.ops import batched_nms

    from mmdet_losses import ops
    mmcv_nms_module = importlib.import_module('mmcv.ops.nms')
    assert batched_nms.__globals__ is vars(mmcv_nms_module)  # where eval(type) looks
    assert ops.MMCV_REGISTERED is True
    assert mmcv_nms_module.diou_nms is mmcv_diou_nms
    assert ops.register_with_mmcv() is True  # idempotent
    assert mmcv_nms_module.nms.__module__ == 'mmcv.ops.nms'  # mmcv's own untouched
    assert not hasattr(mmcv_nms_module.nms, 'diou_nms')


@pytest.mark.parametrize('split_thr', [10000, 50])
def test_mmcv_batched_nms_runs_diou_nms(split_thr):
    # split_thr 50 < N takes mmcv's per-class loop; 10000 its offset path.
    from mmcv.ops import batched_nms
    boxes, scores = detections(400, 6, dtype=torch.float32)
    idxs = torch.randint(0, 3, (400, ), generator=torch.Generator().manual_seed(6))
    cfg = dict(type='diou_nms', iou_threshold=0.5, beta=1.0, split_thr=split_thr)
    dets, keep = batched_nms(boxes, scores, idxs, cfg)
    expected = reference_diou_nms(boxes, scores, 0.5, idxs=idxs)
    assert keep.tolist() == expected
    assert torch.equal(dets, torch.cat([boxes[keep], scores[keep, None]], dim=1))
    # with a huge beta the penalty vanishes: mmcv's own nms (where no DIoU ties)
    dets_plain, keep_plain = batched_nms(boxes, scores, idxs, dict(
        type='nms', iou_threshold=0.5, split_thr=split_thr))
    _, keep_large_beta = batched_nms(boxes, scores, idxs, dict(
        cfg, beta=1e4))
    assert keep_large_beta.tolist() == keep_plain.tolist()
    assert len(keep) > len(keep_plain)  # DIoU keeps neighbours plain NMS drops


def test_mmcv_signature_extras():
    boxes, scores = detections(100, 7, dtype=torch.float32)
    dets, keep = mmcv_diou_nms(boxes, scores, 0.5, beta=1.0, max_num=5)
    assert keep.tolist() == reference_diou_nms(boxes, scores, 0.5)[:5]
    assert torch.equal(dets[:, 4], scores[keep])
    # score_threshold drops low scores first and still returns input indices
    dets, keep = mmcv_diou_nms(boxes, scores, 0.5, score_threshold=0.5)
    high = torch.nonzero(scores > 0.5).view(-1)
    assert keep.tolist() == [high[i].item() for i in
                             reference_diou_nms(boxes[high], scores[high], 0.5)]
    # offset=1: mmcv's legacy w = x2 - x1 + 1, i.e. the boxes grown by one pixel
    grown = torch.cat([boxes[:, :2], boxes[:, 2:] + 1], dim=1)
    assert mmcv_diou_nms(boxes, scores, 0.5, offset=1)[1].tolist() == \
        reference_diou_nms(grown, scores, 0.5)
    with pytest.raises(ValueError, match='offset must be 0 or 1, got 2'):
        mmcv_diou_nms(boxes, scores, 0.5, offset=2)


def test_multiclass_nms_of_the_roi_heads():
    # mmdet's RoI heads post-process with multiclass_nms -> mmcv batched_nms.
    from mmdet.models.layers import multiclass_nms
    boxes, _ = detections(200, 8, dtype=torch.float32)
    scores = torch.rand(200, 4, generator=torch.Generator().manual_seed(8))
    scores[:, -1] = 0  # background column
    nms_cfg = dict(type='diou_nms', iou_threshold=0.5, beta=1.0)
    dets, labels = multiclass_nms(boxes, scores, 0.05, nms_cfg, max_num=-1)
    plain, plain_labels = multiclass_nms(boxes, scores, 0.05,
                                         dict(type='nms', iou_threshold=0.5),
                                         max_num=-1)
    assert dets.shape[1] == 5 and len(dets) > len(plain)
    large_beta, large_labels = multiclass_nms(boxes, scores, 0.05,
                                              dict(nms_cfg, beta=1e4), max_num=-1)
    assert torch.equal(large_beta, plain) and torch.equal(large_labels, plain_labels)


def test_rpn_proposals_with_diou_nms():
    # RPNHead calls batched_nms(boxes, scores, level_ids, cfg.nms) itself.
    from mmdet.models.dense_heads import RPNHead
    from mmengine.config import ConfigDict
    torch.manual_seed(0)
    head = RPNHead(in_channels=8, feat_channels=8, anchor_generator=dict(
        type='AnchorGenerator', scales=[4], ratios=[0.5, 1.0, 2.0], strides=[8, 16]))
    head.eval()
    feats = (torch.randn(1, 8, 12, 12), torch.randn(1, 8, 6, 6))
    cls_scores, bbox_preds = head(feats)
    metas = [dict(img_shape=(96, 96), scale_factor=(1.0, 1.0))]

    def proposals(nms):
        cfg = ConfigDict(nms_pre=1000, max_per_img=1000, min_bbox_size=0, nms=nms)
        with torch.no_grad():
            return head.predict_by_feat(cls_scores, bbox_preds, batch_img_metas=metas,
                                        cfg=cfg, rescale=False)[0]

    diou = proposals(dict(type='diou_nms', iou_threshold=0.5, beta=1.0))
    plain = proposals(dict(type='nms', iou_threshold=0.5))
    large_beta = proposals(dict(type='diou_nms', iou_threshold=0.5, beta=1e4))
    assert torch.equal(large_beta.bboxes, plain.bboxes)
    assert len(diou) > len(plain) > 0


# ------------------------------------------------------------------ from a config
def _tiny_detector(config, nms):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    cfg = Config.fromfile(config)
    import_modules_from_strings(**cfg.custom_imports)
    cfg.model.backbone.update(depth=18, init_cfg=None)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.bbox_head.num_classes = 3
    cfg.model.test_cfg.update(score_thr=0.0, nms_pre=1000, max_per_img=1000)
    cfg.model.test_cfg.nms = nms  # replaced, not merged
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    if cfg.model.bbox_head.type == 'FCOSHead':
        # Untrained, FCOS predicts exp(~0) = 1 px distances: boxes of 2 px at points
        # 8 px apart never overlap. Distances of ~exp(2.5) = 12 px do, as trained
        # ones do.
        torch.nn.init.constant_(model.bbox_head.conv_reg.bias, 2.5)
    return model


def _predict(model):
    from mmdet.testing import demo_mm_inputs
    torch.manual_seed(1)
    packed = demo_mm_inputs(batch_size=1, image_shapes=[(3, 96, 96)], num_items=[2],
                            num_classes=3)
    data = model.data_preprocessor(packed, False)
    with torch.no_grad():
        return model.predict(data['inputs'], data['data_samples'])[0].pred_instances


@pytest.mark.parametrize('config', [
    'configs/retinanet/retinanet_r50_fpn_diou-nms_1x_coco.py',
    'configs/fcos/fcos_r50-caffe_fpn_gn-head_diou-nms_1x_coco.py'
], ids=['retinanet', 'fcos'])
def test_predict_with_diou_nms_from_a_config(config, monkeypatch):
    import os.path as osp

    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    path = osp.join(root, config)
    nms_cfg = Config.fromfile(path).model.test_cfg.nms
    assert nms_cfg == dict(type='diou_nms', iou_threshold=0.5, beta=1.0)

    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return mmcv_diou_nms(*args, **kwargs)

    monkeypatch.setattr(importlib.import_module('mmcv.ops.nms'), 'diou_nms', spy)
    diou = _predict(_tiny_detector(path, nms_cfg.to_dict()))
    assert calls and calls[0]['beta'] == 1.0 and calls[0]['iou_threshold'] == 0.5
    plain = _predict(_tiny_detector(path, dict(type='nms', iou_threshold=0.5)))
    large_beta = _predict(_tiny_detector(path, dict(nms_cfg, beta=1e4)))
    # The penalty vanishes for a huge beta: exactly mmcv's plain NMS.
    for key in ('bboxes', 'scores', 'labels'):
        assert torch.equal(large_beta[key], plain[key]), key
    # beta 1 keeps neighbours that plain NMS drops.
    assert len(diou) > len(plain) > 0
    assert torch.isfinite(diou.bboxes).all() and torch.isfinite(diou.scores).all()


# ------------------------------------------------------------------ without mmcv
def test_pure_functions_work_without_mmcv_and_mmdet():
    # mmcv and mmdet made unimportable in a fresh interpreter: the package and the
    # ops import, DIoU-NMS runs, and nothing was registered.
    import subprocess
    import sys
    code = (
        "import sys\n"
        "sys.modules['mmcv'] = sys.modules['mmdet'] = None\n"
        "import torch, mmdet_losses\n"
        "from mmdet_losses import ops\n"
        "boxes = torch.tensor([[0.0, 0, 10, 10], [4.0, 0, 14, 10]])\n"
        "keep = ops.diou_nms(boxes, torch.tensor([0.9, 0.8]), 0.4)\n"
        "print(keep.tolist(), ops.MMCV_REGISTERED)\n")
    result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split('\n')[-2] == '[0, 1] False'


@pytest.mark.slow
def test_compiled_criterion_gives_the_same_result():
    # MMDET_LOSSES_COMPILE=0 in the tests; here the criterion matrix runs through
    # torch.compile (where a compiler exists) and must decide as the eager one.
    from mmdet_losses.functional import get_compile, set_compile
    compiled = pairwise_diou.use_compiled('cpu')
    previous = get_compile()
    boxes, scores = detections(600, 9, dtype=torch.float32)
    idxs = torch.randint(0, 3, (600, ), generator=torch.Generator().manual_seed(9))
    eager = diou_nms(boxes, scores, 0.5), batched_diou_nms(boxes, scores, idxs, 0.5)
    try:
        set_compile('auto')
        if not pairwise_diou.use_compiled('cpu'):
            pytest.skip('no compiler for torch.compile on this machine')
        assert torch.equal(diou_nms(boxes, scores, 0.5), eager[0])
        assert torch.equal(batched_diou_nms(boxes, scores, idxs, 0.5), eager[1])
        assert eager[0].tolist() == reference_diou_nms(boxes, scores, 0.5)
    finally:
        set_compile(previous)
    assert compiled is False  # the suite's default stayed eager
