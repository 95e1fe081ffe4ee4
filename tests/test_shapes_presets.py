"""The data dials of the shapes dataset: presets with one object per image (the
imbalance levels) and squeezed, thin objects (localisation-hard); the default data
unchanged by them; the anchors-per-object figures of the imbalance configs."""
import hashlib
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmdet_losses_lab.data.shapes import (PRESETS, ShapesSpec, image_rng, make_shapes,
                                      render_image)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
IMBALANCE = osp.join(ROOT, 'configs/shapes/retinanet_r18_fpn_1xb4-1000i_shapes-imb{}.py')


def annotations_digest(out_dir, split):
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json')) as f:
        return hashlib.sha256(json.dumps(json.load(f), sort_keys=True)
                              .encode()).hexdigest()


def test_default_data_is_unchanged_by_the_dials(tmp_path):
    # Digests of the annotations written before the presets and max_aspect existed
    # (seed 0, 6 + 3 images): the same objects, boxes, polygons and info.
    make_shapes(str(tmp_path), num_train=6, num_val=3)
    assert annotations_digest(str(tmp_path), 'train') == \
        '7f04d3ffd120ce06f05af8214e24d586a054b0c1898999ba0ec5d0ce4848c32d'
    assert annotations_digest(str(tmp_path), 'val') == \
        '535d2e299de631a3ae71dfa1fe0bf519872d3c8d1b7d6158ebfedb82a3bcb44b'
    assert PRESETS['default'] == ShapesSpec()


def test_single_preset_has_one_object_per_image():
    counts = [len(render_image(image_rng(0, 'train', i), PRESETS['single'])[1])
              for i in range(60)]
    assert counts == [1] * 60


def test_thin_preset_objects_are_elongated_and_exact():
    spec = PRESETS['thin']
    aspects, shortest = [], []
    for index in range(80):
        _, objects = render_image(image_rng(0, 'train', index), spec)
        for obj in objects:
            x, y, w, h = obj['bbox']
            aspects.append(max(w, h) / min(w, h))
            shortest.append(min(w, h))
            # the polygon is squeezed with the pixels: the box is its extent
            polygon = np.array(obj['polygon'][0]).reshape(-1, 2)
            tolerance = 1.05 + (obj['stroke'] / 2 + 0.5 if obj['stroke'] else 0)
            extent = (polygon[:, 0].min(), polygon[:, 1].min(),
                      polygon[:, 0].max(), polygon[:, 1].max())
            np.testing.assert_allclose(extent, (x, y, x + w, y + h), rtol=0,
                                       atol=tolerance, err_msg=str((index, obj)))
    # squeezed up to 6:1 (a few pixels more for tilted squares' rasterisation),
    # never thinner than min_thickness = 4 px (to a pixel)
    assert max(aspects) <= 6.5 and np.mean(aspects) > 2.0
    assert np.mean(np.array(aspects) > 3) > 0.2
    assert min(shortest) >= 3


def test_preset_info_and_validation(tmp_path):
    make_shapes(str(tmp_path), 2, 1, spec=PRESETS['thin'])
    with open(tmp_path / 'annotations' / 'instances_train.json') as f:
        info = json.load(f)['info']
    assert info['spec']['max_aspect'] == 6.0 and info['spec']['max_distractors'] == 0
    with pytest.raises(ValueError, match='max_aspect must be >= 1, got 0.5'):
        ShapesSpec(max_aspect=0.5).validate()
    with pytest.raises(ValueError, match='need 1 <= min_thickness <= min_size, '
                       'got 20 and 12'):
        ShapesSpec(min_thickness=20).validate()


def test_preset_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'make_shapes.py'), '--preset',
         'single', '--num-train', '2', '--num-val', '1'],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'wrote 2 images to data/shapes_single/train' in result.stdout
    with open(tmp_path / 'data/shapes_single/annotations/instances_train.json') as f:
        assert len(json.load(f)['annotations']) == 2


def test_imbalance_levels_add_background_anchors_only(tmp_path):
    from mmdet_losses_lab.data.imbalance import anchor_statistics

    data = str(tmp_path / 'single')
    make_shapes(data, num_train=12, num_val=1, spec=PRESETS['single'])
    level2 = anchor_statistics(IMBALANCE.format(2), None, data_root=data)
    level4 = anchor_statistics(IMBALANCE.format(4), None, data_root=data)
    # 128 px at strides 8, 16, 32: 16^2 + 8^2 + 4^2 = 336 locations;
    # 3 scales x 3 aspects = 9 anchors each (3,024), x 37 aspects = 111 (37,296)
    assert level2['anchors per image'] == 3024 and level4['anchors per image'] == 37296
    assert level2['objects per image'] == 1.0
    assert level4['anchors per object'] == 37296.0
    # the 34 extra aspects (1:4 and beyond) match no object: same positives
    assert level4['positives per object'] == level2['positives per object'] > 1
    assert level4['negatives per positive'] > 12 * level2['negatives per positive']
