r"""Hand-drawn boxes from exact ones: a COCO annotation file with every box loosened
and jittered, as annotators draw them.

Each side of a box of width :math:`w` and height :math:`h` moves outward by a margin
and by a jitter, drawn independently per side (left and right scale with :math:`w`,
top and bottom with :math:`h`):

.. math::

    x_1' = x_1 - w\,(m_l + j_l), \quad x_2' = x_2 + w\,(m_r + j_r), \quad
    m \sim U(0,\, 2\,\mathrm{loosen}), \quad j \sim \mathcal{N}(0,\, \mathrm{jitter}^2)

so a side lies ``loosen`` of the object's size outside the object on average, never
inside it from the margin alone, and scatters by ``jitter`` of the size. Boxes are
clipped to the image; a box that jitter would shrink below 1 px in width or height
keeps its exact extent and is counted (``kept_exact``), never dropped silently. The
draws are seeded by ``seed`` and the annotation's id, so a file is written the same
whatever its order.

Everything else of the file (images, categories, segmentation, ids) is kept; each
noisy annotation's ``area`` is its new box's, and the file's ``info`` records the
noise (``box_noise``).

Usage::

    python tools/noisy_boxes.py data/shapes --loosen 0.05 --jitter 0.03
    # writes data/shapes/annotations/instances_{train,val}_loose.json
"""
import argparse
import copy
import json
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .voc import clip_box

__all__ = ['noisy_boxes', 'noisy_annotation_file', 'main']

MIN_SIDE = 1.0  # px: a narrower noisy box keeps its exact extent


def _check(name: str, value: float, upper: float) -> float:
    value = float(value)
    if not 0.0 <= value <= upper:  # also refuses NaN
        raise ValueError(f'{name} must be in [0, {upper}] (a fraction of the box '
                         f'side), got {value}')
    return value


def noisy_boxes(coco: Dict, loosen: float, jitter: float,
                seed: int = 0) -> Tuple[Dict, Dict[str, int]]:
    """A copy of the COCO dict ``coco`` with every annotation's box loosened and
    jittered (see the module's docstring).

    Args:
        coco: a COCO annotation dict (``images`` with ``width``/``height``,
            ``annotations`` with ``bbox`` as ``[x, y, w, h]``).
        loosen: the mean outward margin of a side, a fraction of the box's side
            (margins are uniform in ``[0, 2 * loosen]``); in [0, 1].
        jitter: the standard deviation of a side's jitter, a fraction of the box's
            side; in [0, 1].
        seed: seeds the draws together with each annotation's id.

    Returns:
        ``(noisy coco, counts)``, counts ``{'boxes', 'kept_exact', 'clipped',
        'mean_iou'}``: ``mean_iou`` the mean IoU of a noisy box with its exact one.
    """
    loosen = _check('loosen', loosen, 1.0)
    jitter = _check('jitter', jitter, 1.0)
    sizes = {img['id']: (img['width'], img['height']) for img in coco['images']}
    noisy = copy.deepcopy(coco)
    counts = dict(boxes=0, kept_exact=0, clipped=0)
    ious = []
    for ann in noisy['annotations']:
        x, y, w, h = (float(v) for v in ann['bbox'])
        rng = np.random.default_rng([seed, int(ann['id'])])
        margin = rng.uniform(0.0, 2.0 * loosen, size=4)
        shift = margin + jitter * rng.standard_normal(4)  # left, top, right, bottom
        x1, y1 = x - w * shift[0], y - h * shift[1]
        x2, y2 = x + w + w * shift[2], y + h + h * shift[3]
        clipped, outcome = clip_box((x1, y1, x2, y2), *sizes[ann['image_id']],
                                    min_size=MIN_SIDE)
        counts['boxes'] += 1
        if clipped is None:  # inverted or collapsed by the jitter
            counts['kept_exact'] += 1
            ious.append(1.0)
            continue
        cx1, cy1, cx2, cy2 = clipped
        overlap = max(min(cx2, x + w) - max(cx1, x), 0.0) * \
            max(min(cy2, y + h) - max(cy1, y), 0.0)
        union = w * h + (cx2 - cx1) * (cy2 - cy1) - overlap
        ious.append(overlap / union if union > 0 else 1.0)
        counts['clipped'] += outcome == 'clipped'
        box = [round(v, 2) for v in (cx1, cy1, cx2 - cx1, cy2 - cy1)]
        ann['bbox'] = box
        ann['area'] = round(box[2] * box[3], 2)
    counts['mean_iou'] = round(float(np.mean(ious)), 3) if ious else 1.0
    info = dict(noisy.get('info') or {})
    info['box_noise'] = dict(loosen=loosen, jitter=jitter, seed=seed, **counts)
    noisy['info'] = info
    return noisy, counts


def noisy_annotation_file(src: str, dst: str, loosen: float, jitter: float,
                          seed: int = 0) -> Dict[str, int]:
    """Write the noisy copy of the COCO file ``src`` to ``dst``; returns the counts."""
    if osp.abspath(src) == osp.abspath(dst):
        raise ValueError(f'the noisy file would overwrite its source: {src}')
    with open(src, encoding='utf-8') as f:
        coco = json.load(f)
    noisy, counts = noisy_boxes(coco, loosen, jitter, seed)
    with open(dst, 'w', encoding='utf-8') as f:
        json.dump(noisy, f)
    return counts


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write loosened, jittered copies of a COCO data root\'s '
        'annotation files: <root>/annotations/instances_<split>_<suffix>.json.')
    parser.add_argument('data_root', help='a COCO data root (e.g. data/shapes)')
    parser.add_argument('--loosen', type=float, default=0.05,
                        help='mean outward margin per side, a fraction of the side '
                        '(default 0.05)')
    parser.add_argument('--jitter', type=float, default=0.03,
                        help='standard deviation per side, a fraction of the side '
                        '(default 0.03)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--splits', nargs='+', default=['train', 'val'])
    parser.add_argument('--suffix', default='loose')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    ann_dir = osp.join(args.data_root, 'annotations')
    for split in args.splits:
        src = osp.join(ann_dir, f'instances_{split}.json')
        if not osp.isfile(src):
            raise SystemExit(f'no annotation file {src}: write the data first '
                             '(e.g. python tools/make_shapes.py)')
        dst = osp.join(ann_dir, f'instances_{split}_{args.suffix}.json')
        counts = noisy_annotation_file(src, dst, args.loosen, args.jitter, args.seed)
        print(f'{split}: {counts["boxes"]} boxes loosened by {args.loosen} and '
              f'jittered by {args.jitter} per side, mean IoU with the exact boxes '
              f'{counts["mean_iou"]:.3f} ({counts["clipped"]} clipped to the image, '
              f'{counts["kept_exact"]} kept exact: jitter shrank them below '
              f'{MIN_SIDE:g} px) -> {dst}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
