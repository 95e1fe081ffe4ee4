"""The shapes dataset: seeded and deterministic, valid COCO, exact boxes; its CLIs;
the OpenCV drawing used by the demo."""
import hashlib
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mmdet_losses_lab.data.shapes import (SHAPES_CLASSES, ShapesSpec, image_rng,
                                      is_written, make_shapes, render_image)
from mmdet_losses_lab.visualize import draw_detections, tile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def digest(out_dir):
    """Hash of every file under ``out_dir`` (names and bytes)."""
    sha = hashlib.sha256()
    for folder, _, files in sorted(os.walk(out_dir)):
        for name in sorted(files):
            path = osp.join(folder, name)
            sha.update(osp.relpath(path, out_dir).encode())
            with open(path, 'rb') as f:
                sha.update(f.read())
    return sha.hexdigest()


def load_coco(out_dir, split):
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def small_set(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(out, num_train=24, num_val=8)
    return out


def test_same_seed_same_bytes(small_set, tmp_path):
    make_shapes(str(tmp_path), num_train=24, num_val=8)
    assert digest(str(tmp_path)) == digest(small_set)


def test_other_seed_other_images(small_set, tmp_path):
    make_shapes(str(tmp_path), num_train=24, num_val=8, seed=1)
    a = cv2.imread(osp.join(small_set, 'train', '000000.png'))
    b = cv2.imread(osp.join(str(tmp_path), 'train', '000000.png'))
    assert not np.array_equal(a, b)


def test_an_image_does_not_depend_on_the_count(small_set, tmp_path):
    make_shapes(str(tmp_path), num_train=5, num_val=3)
    for split, index in (('train', 4), ('val', 2)):
        name = f'{index:06d}.png'
        a = cv2.imread(osp.join(small_set, split, name))
        b = cv2.imread(osp.join(str(tmp_path), split, name))
        assert np.array_equal(a, b)
    small, large = load_coco(str(tmp_path), 'train'), load_coco(small_set, 'train')
    first_five = [a for a in large['annotations'] if a['image_id'] <= 5]
    assert small['annotations'] == first_five


def test_train_and_val_differ(small_set):
    a = cv2.imread(osp.join(small_set, 'train', '000000.png'))
    b = cv2.imread(osp.join(small_set, 'val', '000000.png'))
    assert not np.array_equal(a, b)


def test_valid_coco(small_set):
    spec = ShapesSpec()
    for split, count in (('train', 24), ('val', 8)):
        coco = load_coco(small_set, split)
        assert [c['name'] for c in coco['categories']] == list(SHAPES_CLASSES)
        assert [c['id'] for c in coco['categories']] == [1, 2, 3]
        assert len(coco['images']) == count
        ids = [img['id'] for img in coco['images']]
        assert len(set(ids)) == count
        ann_ids = [a['id'] for a in coco['annotations']]
        assert len(set(ann_ids)) == len(ann_ids)
        per_image = {i: [] for i in ids}
        for ann in coco['annotations']:
            per_image[ann['image_id']].append(ann)
            x, y, w, h = ann['bbox']
            assert w >= 4 and h >= 4
            assert 0 <= x and 0 <= y and x + w <= 128 and y + h <= 128
            assert ann['iscrowd'] == 0 and 0 < ann['area'] <= w * h
            assert ann['category_id'] in (1, 2, 3)
        for anns in per_image.values():
            assert spec.min_objects <= len(anns) <= spec.max_objects


def test_mmdet_reads_it(small_set):
    from mmdet.datasets import CocoDataset

    dataset = CocoDataset(
        data_root=small_set, ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'), metainfo=dict(classes=SHAPES_CLASSES),
        pipeline=[], test_mode=True)
    assert len(dataset) == 8
    info = dataset[0]
    assert osp.isfile(info['img_path'])
    assert info['instances'] and all(
        0 <= inst['bbox_label'] < 3 for inst in info['instances'])


def test_boxes_are_the_exact_extent_of_the_drawn_objects():
    # The box comes from the drawn pixels, the polygon from the geometry: they agree
    # to a pixel (rasterisation), plus half the stroke for outlined shapes.
    for index in range(100):
        image, objects = render_image(image_rng(0, 'train', index))
        assert image.shape == (128, 128, 3) and image.dtype == np.uint8
        for obj in objects:
            x, y, w, h = obj['bbox']
            polygon = np.array(obj['polygon'][0]).reshape(-1, 2)
            tolerance = 1.05 + (obj['stroke'] / 2 + 0.5 if obj['stroke'] else 0)
            extent = (polygon[:, 0].min(), polygon[:, 1].min(),
                      polygon[:, 0].max(), polygon[:, 1].max())
            np.testing.assert_allclose(extent, (x, y, x + w, y + h), rtol=0,
                                       atol=tolerance, err_msg=str((index, obj)))


def test_boxes_do_not_overlap():
    spec = ShapesSpec()
    for index in range(50):
        _, objects = render_image(image_rng(0, 'val', index))
        boxes = [(x, y, x + w, y + h) for x, y, w, h in (o['bbox'] for o in objects)]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                apart = (a[2] + spec.min_gap <= b[0] or b[2] + spec.min_gap <= a[0]
                         or a[3] + spec.min_gap <= b[1] or b[3] + spec.min_gap <= a[1])
                assert apart, (index, a, b)


def test_sizes_and_classes_vary():
    widths, labels = [], []
    for index in range(100):
        _, objects = render_image(image_rng(0, 'train', index))
        widths += [o['bbox'][2] for o in objects]
        labels += [o['label'] for o in objects]
    assert min(widths) <= 16 and max(widths) >= 50
    counts = np.bincount(labels, minlength=3)
    assert counts.min() >= 0.2 * counts.sum()


def test_existing_dataset_is_kept(small_set):
    before = os.path.getmtime(osp.join(small_set, 'train', '000000.png'))
    assert is_written(small_set, 'train', 24)
    assert not is_written(small_set, 'train', 25)
    assert not is_written(small_set, 'train', 24, seed=3)
    make_shapes(small_set, num_train=24, num_val=8)
    assert os.path.getmtime(osp.join(small_set, 'train', '000000.png')) == before


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_train=0), 'num_train must be >= 1, got 0'),
    (dict(image_size=16), 'image_size must be >= 32, got 16'),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_shapes(str(tmp_path), **{'num_train': 2, 'num_val': 2, **kwargs})


def test_spec_validation():
    with pytest.raises(ValueError, match='min_objects'):
        ShapesSpec(min_objects=3, max_objects=2).validate()
    with pytest.raises(ValueError, match='min_size'):
        ShapesSpec(min_size=60, max_size=40).validate()


@pytest.mark.parametrize('command', [
    [sys.executable, '-m', 'mmdet_losses_lab.data.shapes'],
    [sys.executable, osp.join(ROOT, 'tools', 'make_shapes.py')],
], ids=['module', 'tool'])
def test_command_lines(tmp_path, command):
    out = str(tmp_path / 'shapes')
    result = subprocess.run(
        command + ['--out', out, '--num-train', '3', '--num-val', '2'],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'wrote 3 images' in result.stdout
    assert len(load_coco(out, 'train')['images']) == 3
    assert len(os.listdir(osp.join(out, 'val'))) == 2


def test_draw_detections_and_tile():
    image = np.zeros((32, 32, 3), np.uint8)
    picture = draw_detections(
        image, boxes=np.array([[4.0, 4.0, 20.0, 20.0], [0, 0, 8, 8]]),
        labels=np.array([1, 0]), scores=np.array([0.9, 0.1]),
        class_names=SHAPES_CLASSES, palette=[(0, 0, 255), (0, 255, 0), (255, 0, 0)],
        gt_boxes=np.array([[2.0, 2.0, 30.0, 30.0]]), scale=2)
    assert picture.shape == (64, 64, 3)
    # The kept detection (class 1, green) is drawn; the 0.1-score one is not.
    assert (picture == (0, 255, 0)).all(-1).any()
    assert not (picture == (0, 0, 255)).all(-1).any()
    # The ground truth is white.
    assert (picture == 255).all(-1).any()
    grid = tile([picture] * 5, columns=4, border=2)
    assert grid.shape == (2 * 66 + 2, 4 * 66 + 2, 3)
