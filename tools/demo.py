"""The CPU demo (``make demo``): shapes data -> RetinaNet with mmdet_losses' focal and
GIoU losses -> COCO box mAP -> a picture of predictions.

    python tools/demo.py [--work-dir work_dirs/demo] [--data-root data/shapes]
        [--iters N] [--config CONFIG] [--cfg-options k=v ...]

Steps: write the seeded shapes dataset (skipped when it is already there), train the
config from scratch (a log line every 20 iterations with the ETA), evaluate on the
validation split with the COCO metric, print the metric table, and save
``<work-dir>/predictions.png``: eight validation images with the predicted boxes
scoring at least 0.4 (class colour, score) over the ground truth (thin white).
"""
import argparse
import os
import sys
import time

from mmengine.hooks import Hook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

DEFAULT_CONFIG = 'configs/shapes/retinanet_r18_fpn_giou_1xb4-1500i_shapes.py'
TARGET_MAP = 0.6
METRICS = (('bbox_mAP', 'AP @[.50:.95]'), ('bbox_mAP_50', 'AP @.50'),
           ('bbox_mAP_75', 'AP @.75'), ('bbox_mAP_s', 'AP small'),
           ('bbox_mAP_m', 'AP medium'), ('bbox_mAP_l', 'AP large'))


def parse_args(argv=None):
    from mmengine.config import DictAction

    # ROOT/configs: the checkout's, or the installed package's .mim/configs.
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=os.path.join(ROOT, DEFAULT_CONFIG))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/shapes')
    parser.add_argument('--num-train', type=int, default=2000)
    parser.add_argument('--num-val', type=int, default=300)
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations (default: the config\'s)')
    parser.add_argument('--num-pictures', type=int, default=8)
    parser.add_argument('--score-thr', type=float, default=0.4,
                        help='lowest score drawn in the picture')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


class EvaluationTimer(Hook):
    """Notes when the (last) evaluation starts and the metrics it returns."""

    def __init__(self):
        self.started = None
        self.metrics = {}

    def before_val_epoch(self, runner) -> None:
        self.started = time.time()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


def save_predictions(runner, out_file: str, count: int, score_thr: float) -> None:
    """Predict ``count`` validation images and save them with their boxes."""
    import cv2
    import torch

    from mmdet_losses.utils.visualize import draw_detections, tile

    dataset = runner.val_dataloader.dataset
    batch = runner.val_dataloader.collate_fn(
        [dataset[i] for i in range(min(count, len(dataset)))])
    runner.model.eval()
    with torch.no_grad():
        samples = runner.model.test_step(batch)
    meta = dataset.metainfo
    pictures = []
    for sample in samples:
        pred = sample.pred_instances
        image = cv2.imread(sample.img_path)
        pictures.append(draw_detections(
            image, pred.bboxes.numpy(), pred.labels.numpy(), pred.scores.numpy(),
            meta['classes'], [tuple(reversed(c)) for c in meta['palette']],
            gt_boxes=sample.gt_instances.bboxes.numpy()
            if 'gt_instances' in sample else None, score_thr=score_thr))
    cv2.imwrite(out_file, tile(pictures))


def print_table(metrics: dict, seconds: dict) -> None:
    width = max(len(name) for _, name in METRICS)
    print('\nShapes val, COCO box metric')
    print('-' * (width + 10))
    for key, name in METRICS:
        value = metrics.get(f'coco/{key}')
        if value is not None and value >= 0:  # -1: no object of that size
            print(f'{name:<{width}}  {value:7.3f}')
    print('-' * (width + 10))
    for step, sec in seconds.items():
        print(f'{step:<{width}}  {sec / 60:5.1f} min')


def main(argv=None):
    from mmdet_losses.utils.quiet import quiet_warnings

    quiet_warnings()
    args = parse_args(argv)
    start = time.time()

    # The losses are a sliver of a CPU iteration here: compiling them cost ~9 s up
    # front and saved ~4 ms per iteration (measured on 2 cores). MMDET_LOSSES_COMPILE=1
    # opts back in.
    if 'MMDET_LOSSES_COMPILE' not in os.environ:
        from mmdet_losses.functional.compile import set_compile
        set_compile(False)

    from mmdet_losses.utils.config import set_data_root, set_max_iters
    from mmdet_losses.utils.runner import (build_runner, load_config,
                                           prepare_config)

    cfg = load_config(args.config, args.work_dir, args.cfg_options)
    set_data_root(cfg, args.data_root)
    prepare_config(cfg)  # the config checks, before any data is made or read

    from mmdet_losses.data.shapes import make_shapes

    make_shapes(args.data_root, args.num_train, args.num_val, verbose=True)
    seconds = {'data': time.time() - start}
    if args.iters is not None:
        set_max_iters(cfg, args.iters)
    # Evaluate once, at the last iteration, and keep what the evaluation finds.
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters
    cfg.val_evaluator.classwise = True
    runner = build_runner(cfg)
    timer = EvaluationTimer()
    runner.register_hook(timer, priority='LOWEST')

    tic = time.time()
    runner.train()
    seconds['training'] = timer.started - tic
    seconds['evaluation'] = time.time() - timer.started
    metrics = timer.metrics

    picture = os.path.join(cfg.work_dir, 'predictions.png')
    save_predictions(runner, picture, args.num_pictures, args.score_thr)
    seconds['total'] = time.time() - start

    print_table(metrics, seconds)
    if 'coco/bbox_mAP' not in metrics:
        raise RuntimeError('the evaluation returned no COCO metric (no detection '
                           'above the score threshold?)')
    box_map = metrics['coco/bbox_mAP']
    verdict = 'reached' if box_map >= TARGET_MAP else 'MISSED'
    print(f'\nbbox mAP {box_map:.3f}: target {TARGET_MAP} {verdict}. '
          f'Predictions: {picture}')
    return metrics


if __name__ == '__main__':
    from mmdet_losses.utils.doctor import ConfigError

    try:
        main()
    except ConfigError as error:
        sys.exit(str(error))
