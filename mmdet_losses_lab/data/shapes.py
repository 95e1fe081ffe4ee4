"""Shapes: a small, seeded COCO-format detection dataset that trains on a CPU.

Coloured squares, circles and triangles on textured backgrounds (flat, gradient,
stripes, checkerboard, smooth noise) with distractor clutter (lines, thin ellipses,
crosses, dots) drawn behind them. Objects measure 12 to 56 px before rotation (boxes
of about 10 to 80 px) in a 128 px image, 1 to 4 per image, filled or outlined;
triangles point any way, squares tilt by up to 25 degrees. Boxes never overlap, so
every box is the exact extent of its drawn object: a COCO mAP on this data measures
how well a detector localises, not how it guesses occluded extents.

Every image is generated from its own seed ``(seed, split, index)``: the first ``n``
images of a split are the same whatever the total count, and two runs write
identical pixels and annotations. Only numpy and OpenCV are used.

Usage::

    python tools/make_shapes.py                      # data/shapes, 2000 + 300 images
    python -m mmdet_losses_lab.data.shapes --out /tmp/shapes --num-train 64 --num-val 16
    python tools/make_shapes.py --preset single      # data/shapes_single

Presets (:data:`PRESETS`) are the variants the configs under ``configs/shapes/``
train on: ``single`` (one object per image: 2.5 times the anchors per object, the
imbalance dial of the ``-imb`` configs) and ``thin`` (objects squeezed up to 6:1,
down to 4 px thick, no clutter, for the location-loss comparison: ``-thin``
configs).

Layout (what :class:`mmdet.datasets.CocoDataset` reads)::

    <out>/annotations/instances_train.json  <out>/train/000000.png ...
    <out>/annotations/instances_val.json    <out>/val/000000.png ...
"""
import argparse
import json
import os
import os.path as osp
from dataclasses import asdict
from typing import Dict, Optional, Sequence

import cv2

from .shapes_render import (SHAPES_CLASSES, SHAPES_PALETTE, SPLITS, ShapesSpec,
                            image_rng, render_image)

__all__ = [
    'SHAPES_CLASSES', 'SHAPES_PALETTE', 'SPLITS', 'ShapesSpec', 'PRESETS',
    'image_rng', 'render_image', 'write_split', 'is_written', 'make_shapes',
    'preset_dir', 'main'
]
# Bumped whenever the drawing changes, so that stale data is rewritten.
FORMAT_VERSION = 2
# Named variants at 128 px; ``default`` is the dataset of data/shapes.
PRESETS: Dict[str, ShapesSpec] = {
    'default': ShapesSpec(),
    'single': ShapesSpec(min_objects=1, max_objects=1),
    # No clutter: its thin ellipses and lines would pass for squeezed objects.
    'thin': ShapesSpec(min_size=10, max_size=56, max_aspect=6.0, min_thickness=4,
                       outline_prob=0.1, max_distractors=0),
}


def preset_dir(preset: str) -> str:
    """Where a preset is written by default: ``data/shapes`` or
    ``data/shapes_<preset>``."""
    return 'data/shapes' if preset == 'default' else f'data/shapes_{preset}'


# Spec fields added after the first data of FORMAT_VERSION 2 was written: left out
# of the annotation file's info at these values (where they change nothing), so that
# the default dataset keeps its exact bytes.
_LATER_FIELDS = {'max_aspect': 1.0, 'min_thickness': 4}


def _info(spec: ShapesSpec, seed: int, count: int) -> Dict:
    fields = asdict(spec)
    for name, value in _LATER_FIELDS.items():
        if fields[name] == value:
            del fields[name]
    return dict(description='mmdet_losses shapes', version=FORMAT_VERSION,
                seed=seed, count=count, spec=fields)


def write_split(out_dir: str, split: str, count: int, seed: int = 0,
                spec: ShapesSpec = ShapesSpec()) -> str:
    """Write ``count`` images of ``split`` and their COCO annotation file.

    Returns:
        the path of the annotation file.
    """
    spec.validate()
    img_dir = osp.join(out_dir, split)
    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    images, annotations = [], []
    for index in range(count):
        image, objects = render_image(image_rng(seed, split, index), spec)
        file_name = f'{index:06d}.png'
        cv2.imwrite(osp.join(img_dir, file_name), image)
        image_id = index + 1
        images.append(dict(id=image_id, file_name=file_name,
                           width=spec.image_size, height=spec.image_size))
        for obj in objects:
            annotations.append(dict(
                id=len(annotations) + 1, image_id=image_id,
                category_id=obj['label'] + 1, bbox=obj['bbox'], area=obj['area'],
                segmentation=obj['polygon'], iscrowd=0))
    coco = dict(
        info=_info(spec, seed, count), images=images, annotations=annotations,
        categories=[dict(id=i + 1, name=name, supercategory='shape')
                    for i, name in enumerate(SHAPES_CLASSES)])
    ann_file = osp.join(ann_dir, f'instances_{split}.json')
    with open(ann_file, 'w', encoding='utf-8') as f:
        json.dump(coco, f)
    return ann_file


def is_written(out_dir: str, split: str, count: int, seed: int = 0,
               spec: ShapesSpec = ShapesSpec()) -> bool:
    """Whether ``out_dir`` already holds exactly this split (same seed, count, spec)."""
    ann_file = osp.join(out_dir, 'annotations', f'instances_{split}.json')
    if not osp.isfile(ann_file):
        return False
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except (OSError, ValueError):
        return False
    return coco.get('info') == _info(spec, seed, count) and all(
        osp.isfile(osp.join(out_dir, split, img['file_name']))
        for img in coco['images'])


def make_shapes(out_dir: str = 'data/shapes', num_train: int = 2000,
                num_val: int = 300, seed: int = 0, image_size: int = 128,
                overwrite: bool = False, verbose: bool = False,
                spec: Optional[ShapesSpec] = None) -> Dict[str, str]:
    """Write the train and val splits unless they already exist with these settings.

    ``spec`` (e.g. a :data:`PRESETS` entry) replaces the default spec scaled to
    ``image_size``.

    Returns:
        ``{'train': ann_file, 'val': ann_file}``.
    """
    spec = ShapesSpec.for_size(image_size) if spec is None else spec
    ann_files = {}
    for split, count in (('train', num_train), ('val', num_val)):
        if count < 1:
            raise ValueError(f'num_{split} must be >= 1, got {count}')
        ann_file = osp.join(out_dir, 'annotations', f'instances_{split}.json')
        if not overwrite and is_written(out_dir, split, count, seed, spec):
            if verbose:
                print(f'{split}: {count} images already in {out_dir}')
        else:
            write_split(out_dir, split, count, seed, spec)
            if verbose:
                print(f'{split}: wrote {count} images to {osp.join(out_dir, split)}')
        ann_files[split] = ann_file
    return ann_files


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the seeded COCO-format shapes detection dataset.')
    parser.add_argument('--out', help='output directory (default: data/shapes, '
                        'data/shapes_<preset> for a preset)')
    parser.add_argument('--preset', choices=sorted(PRESETS), default='default',
                        help='a named variant of the data (128 px)')
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--size', type=int, default=128, help='image side (px)')
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite even if the same dataset is already there')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    spec = None
    if args.preset != 'default':
        if args.size != 128:
            raise SystemExit('--size applies to the default preset only')
        spec = PRESETS[args.preset]
    make_shapes(args.out or preset_dir(args.preset), args.num_train, args.num_val,
                args.seed, args.size, overwrite=args.overwrite, verbose=True,
                spec=spec)


if __name__ == '__main__':
    main()
