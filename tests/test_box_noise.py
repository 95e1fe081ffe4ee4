"""Hand-drawn-like boxes from exact ones (mmdet_losses_lab.data.box_noise): the
margins and jitter have the sizes asked for, boxes stay in the image, a box jitter
would collapse keeps its exact extent and is counted, the draws are seeded."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmdet_losses_lab.data.box_noise import noisy_annotation_file, noisy_boxes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def coco_of(boxes, size=(1000, 1000)):
    """One large image holding ``boxes`` (``[x, y, w, h]``), ids from 1."""
    return dict(
        info=dict(description='test'),
        images=[dict(id=1, file_name='a.png', width=size[0], height=size[1])],
        annotations=[dict(id=i + 1, image_id=1, category_id=1, bbox=list(b),
                          area=b[2] * b[3], iscrowd=0) for i, b in enumerate(boxes)],
        categories=[dict(id=1, name='cell')])


def sides(coco):
    """``(N, 4)`` box sides x1, y1, x2, y2."""
    b = np.array([a['bbox'] for a in coco['annotations']], dtype=float)
    return np.stack([b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]], 1)


# 2000 boxes of 40 x 20 px centred in the image: no clipping.
CENTRED = coco_of([(480, 490, 40, 20)] * 2000)
SIZE = np.array([40, 20, 40, 20], dtype=float)
OUTWARD = np.array([-1, -1, 1, 1], dtype=float)


def iou_with_exact(noisy):
    """Mean IoU of the boxes of ``noisy`` with those of ``CENTRED``."""
    a, b = sides(CENTRED), sides(noisy)
    overlap = (np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2])).clip(0)
    inter = overlap.prod(1)
    area = lambda s: (s[:, 2] - s[:, 0]) * (s[:, 3] - s[:, 1])  # noqa: E731
    return float(np.mean(inter / (area(a) + area(b) - inter)))


def outward_shift(noisy):
    """How far each side moved outward, a fraction of the box's side."""
    return (sides(noisy) - sides(CENTRED)) * OUTWARD / SIZE


def test_margins_only_loosen_every_side_by_the_mean_asked_for():
    noisy, counts = noisy_boxes(CENTRED, loosen=0.1, jitter=0.0, seed=0)
    shift = outward_shift(noisy)
    # margins ~ U(0, 0.2): never inward, mean 0.1, sd 0.2 / sqrt(12) = 0.0577
    assert shift.min() >= 0.0 and shift.max() <= 0.2 + 1e-3
    assert np.allclose(shift.mean(0), 0.1, atol=0.006)  # 4.6 standard errors
    assert np.allclose(shift.std(0), 0.2 / 12 ** 0.5, atol=0.004)
    assert counts == dict(boxes=2000, kept_exact=0, clipped=0,
                          mean_iou=pytest.approx(iou_with_exact(noisy), abs=5e-4))
    # E[1 / ((1 + m_l + m_r)(1 + m_t + m_b))] with m ~ U(0, 0.2): 0.701 (1e6 draws)
    assert counts['mean_iou'] == pytest.approx(0.701, abs=0.004)
    # the area follows the box; the exact input is left as it was
    ann = noisy['annotations'][0]
    assert ann['area'] == pytest.approx(ann['bbox'][2] * ann['bbox'][3], abs=0.05)
    assert CENTRED['annotations'][0]['bbox'] == [480, 490, 40, 20]


def test_jitter_only_scatters_each_side_about_its_place():
    noisy, _ = noisy_boxes(CENTRED, loosen=0.0, jitter=0.05, seed=0)
    shift = outward_shift(noisy)
    assert np.allclose(shift.mean(0), 0.0, atol=0.006)
    assert np.allclose(shift.std(0), 0.05, atol=0.004)
    # the four sides are drawn independently
    assert np.abs(np.corrcoef(shift.T) - np.eye(4)).max() < 0.1


def test_zero_noise_keeps_the_boxes_and_records_the_noise():
    noisy, _ = noisy_boxes(CENTRED, loosen=0.0, jitter=0.0, seed=3)
    assert np.array_equal(sides(noisy), sides(CENTRED))
    assert noisy['info'] == dict(description='test', box_noise=dict(
        loosen=0.0, jitter=0.0, seed=3, boxes=2000, kept_exact=0, clipped=0,
        mean_iou=1.0))


def test_boxes_at_the_border_are_clipped_to_the_image():
    coco = coco_of([(0, 0, 30, 30), (70, 60, 30, 40)], size=(100, 100))
    noisy, counts = noisy_boxes(coco, loosen=0.2, jitter=0.0, seed=0)
    s = sides(noisy)
    assert s.min() >= 0.0 and s[:, 2].max() <= 100 and s[:, 3].max() <= 100
    assert (s[0, 0], s[0, 1], s[1, 2], s[1, 3]) == (0, 0, 100, 100)
    assert counts['clipped'] == 2


def test_a_box_jitter_would_collapse_keeps_its_exact_extent_and_is_counted():
    # a 2 px box with jitter of its whole size: about half the draws go below 1 px
    coco = coco_of([(500, 500, 2, 2)] * 200)
    noisy, counts = noisy_boxes(coco, loosen=0.0, jitter=1.0, seed=0)
    s = sides(noisy)
    exact = np.all(s == [500, 500, 502, 502], axis=1)
    assert counts['kept_exact'] == exact.sum() > 20
    assert np.all(s[:, 2] - s[:, 0] >= 1.0) and np.all(s[:, 3] - s[:, 1] >= 1.0)
    assert np.isfinite(s).all()


def test_draws_follow_the_seed_and_the_annotation_not_the_order():
    a, _ = noisy_boxes(CENTRED, loosen=0.05, jitter=0.03, seed=0)
    b, _ = noisy_boxes(CENTRED, loosen=0.05, jitter=0.03, seed=0)
    c, _ = noisy_boxes(CENTRED, loosen=0.05, jitter=0.03, seed=1)
    assert a == b and sides(a).tolist() != sides(c).tolist()
    reversed_coco = dict(CENTRED, annotations=CENTRED['annotations'][::-1])
    d, _ = noisy_boxes(reversed_coco, loosen=0.05, jitter=0.03, seed=0)
    assert d['annotations'][::-1] == a['annotations']


@pytest.mark.parametrize('kwargs, message', [
    (dict(loosen=-0.1, jitter=0.0), 'loosen must be in [0, 1.0]'),
    (dict(loosen=0.1, jitter=float('nan')), 'jitter must be in [0, 1.0]'),
    (dict(loosen=2.0, jitter=0.0), 'got 2.0'),
])
def test_bad_noise_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace(']', r'\]')):
        noisy_boxes(CENTRED, **kwargs)


def test_the_tool_writes_both_splits_beside_the_exact_files(tmp_path):
    ann_dir = tmp_path / 'annotations'
    ann_dir.mkdir()
    for split in ('train', 'val'):
        (ann_dir / f'instances_{split}.json').write_text(json.dumps(CENTRED))
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'noisy_boxes.py'), str(tmp_path),
         '--loosen', '0.05', '--jitter', '0.03'],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for split in ('train', 'val'):
        written = json.loads((ann_dir / f'instances_{split}_loose.json').read_text())
        assert written == noisy_boxes(CENTRED, 0.05, 0.03, 0)[0]
        assert f'{split}: 2000 boxes loosened by 0.05' in result.stdout
    # the exact files are untouched, and a file is never its own source
    assert json.loads((ann_dir / 'instances_train.json').read_text()) == CENTRED
    with pytest.raises(ValueError, match='overwrite its source'):
        noisy_annotation_file(str(ann_dir / 'instances_train.json'),
                              str(ann_dir / 'instances_train.json'), 0.05, 0.03)
