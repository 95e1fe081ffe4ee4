"""How imbalanced a dense detector's classification problem is on a dataset,
computed from the data and the detector's anchor generator and assigner -- no
training.

For each training image the anchors of every level are laid over the padded input,
the config's assigner (RetinaNet's ``MaxIoUAssigner``: IoU >= 0.5 positive, < 0.4
negative) labels them, and the counts are summed:

* anchors per object: all anchors / all ground-truth boxes (the Focal Loss paper's
  "~100k anchors" against a few objects per COCO image);
* positives per object, and negatives per positive: the ratio the focal term acts on.

Usage::

    python -m mmdet_losses_lab.data.imbalance configs/shapes/retinanet_*_shapes-imb*.py
"""
import argparse
import json
import math
import os.path as osp
from typing import Dict, Optional, Sequence

COLUMNS = ('config', 'images', 'objects per image', 'anchors per image',
           'anchors per object', 'positives per object', 'negatives per positive')


def _input_size(cfg) -> tuple:
    """``(H, W)`` of the network input: the pipeline's ``Resize`` scale padded to the
    data preprocessor's ``pad_size_divisor``."""
    scale = next(t['scale'] for t in cfg.train_dataloader.dataset.pipeline
                 if t['type'] == 'Resize')
    divisor = cfg.model.data_preprocessor.get('pad_size_divisor', 1)
    width, height = scale
    return (int(math.ceil(height / divisor) * divisor),
            int(math.ceil(width / divisor) * divisor))


def anchor_statistics(config: str, num_images: Optional[int] = 200,
                      data_root: Optional[str] = None) -> Dict[str, float]:
    """The counts above for the first ``num_images`` training images of the
    config's dataset (all of them with ``None`` or ``0``); the images are read at the
    pipeline's scale, which the shapes configs train at (no resizing)."""
    import torch
    from mmdet.registry import TASK_UTILS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.structures import InstanceData

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    head = cfg.model.bbox_head
    if 'anchor_generator' not in head:
        raise ValueError(f'{config}: bbox_head {head.type} has no anchor_generator')
    generator = TASK_UTILS.build(head.anchor_generator)
    assigner = TASK_UTILS.build(cfg.model.train_cfg.assigner)
    dataset = cfg.train_dataloader.dataset
    root = data_root or dataset.get('data_root', '')
    with open(osp.join(root, dataset.ann_file), encoding='utf-8') as f:
        coco = json.load(f)
    height, width = _input_size(cfg)
    sizes = [(math.ceil(height / s[1]), math.ceil(width / s[0]))
             for s in generator.strides]
    anchors = torch.cat(generator.grid_priors(sizes, device='cpu'))
    boxes: Dict[int, list] = {}
    for ann in coco['annotations']:
        x, y, w, h = ann['bbox']
        boxes.setdefault(ann['image_id'], []).append([x, y, x + w, y + h])
    images = [img for img in coco['images'] if img['id'] in boxes][:num_images or None]
    objects = positives = negatives = 0
    for image in images:
        gt = InstanceData(bboxes=torch.tensor(boxes[image['id']], dtype=torch.float32),
                          labels=torch.zeros(len(boxes[image['id']]),
                                             dtype=torch.long))
        result = assigner.assign(InstanceData(priors=anchors), gt)
        objects += len(gt)
        positives += int((result.gt_inds > 0).sum())
        negatives += int((result.gt_inds == 0).sum())
    count = len(images)
    return {'images': count, 'objects per image': objects / count,
            'anchors per image': float(len(anchors)),
            'anchors per object': len(anchors) * count / objects,
            'positives per object': positives / objects,
            'negatives per positive': negatives / positives}


def markdown(rows: Sequence[Dict]) -> str:
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in rows:
        cells = [str(row['config'])] + [
            f'{row[c]:,.0f}' if row[c] >= 100 else f'{row[c]:.2f}'
            for c in COLUMNS[1:]]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--num-images', type=int, default=200,
                        help='training images counted (default 200; 0: all)')
    args = parser.parse_args(argv)
    rows = [dict(anchor_statistics(c, args.num_images),
                 config=osp.splitext(osp.basename(c))[0]) for c in args.configs]
    print(markdown(rows), end='')


if __name__ == '__main__':
    main()
