"""The CPU demo (``make demo``): data -> RetinaNet with mmdet_losses' focal and GIoU
losses -> COCO box mAP per class -> a picture of predictions.

    python tools/demo.py [--dataset shapes|bccd] [--src BCCD_COPY]
        [--work-dir work_dirs/demo] [--data-root DIR] [--iters N] [--config CONFIG]
        [--cfg-options k=v ...] [--verbose]

``--dataset shapes`` (``make demo``): the seeded synthetic shapes, written when they
are not there. ``--dataset bccd`` (``make demo-bccd``): real microscope images of
blood cells (BCCD, MIT licence, github.com/Shenggan/BCCD_Dataset), converted from
Pascal VOC by :mod:`mmdet_losses_lab.data.bccd`: downloaded, or read from ``--src`` (a
clone, its BCCD folder or an archive). Then: train the config from scratch,
evaluate on the validation split with the COCO metric, print the metric table with
the AP of each class, and save ``<work-dir>/predictions.png``: eight validation
images with the predicted boxes scoring at least 0.4 (class colour, score) over the
ground truth (thin white).

The terminal shows what is trained, a progress bar with the time left, the table
and where the picture and the full log are; MMEngine's full log (environment,
config, a line every 20 iterations) is in the work dir (``--verbose``: on the
terminal too).
"""
import argparse
import os
import sys
import time
from typing import Sequence

from mmengine.hooks import Hook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

# Per dataset: the config, the data root, the title of the table, and the box mAP the
# demo's run is expected to reach (shapes: 0.69-0.72 over seeds; BCCD: 0.52 measured
# before the demo existed, seeds spread a few points).
DATASETS = {
    'shapes': dict(config='configs/shapes/retinanet_r18_fpn_giou_1xb4-1500i_shapes.py',
                   data_root='data/shapes', title='Shapes val', target=0.6),
    'bccd': dict(config='configs/bccd/retinanet_r18_fpn_giou_1xb4-1500i_bccd.py',
                 data_root='data/bccd', title='BCCD val (blood cells)', target=0.45),
}
METRICS = (('bbox_mAP', 'AP @[.50:.95]'), ('bbox_mAP_50', 'AP @.50'),
           ('bbox_mAP_75', 'AP @.75'), ('bbox_mAP_s', 'AP small'),
           ('bbox_mAP_m', 'AP medium'), ('bbox_mAP_l', 'AP large'))


def parse_args(argv=None):
    from mmengine.config import DictAction

    # ROOT/configs: the checkout's, or the installed package's .mim/configs.
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', choices=sorted(DATASETS), default='shapes',
                        help='shapes: synthetic (default); bccd: real blood-cell '
                        'images')
    parser.add_argument('--src', help='bccd: a local copy of BCCD (clone, BCCD '
                        'folder or archive) instead of the download')
    parser.add_argument('--config', help="default: the dataset's RetinaNet focal + "
                        'GIoU config')
    parser.add_argument('--work-dir', help='default: work_dirs/demo (shapes), '
                        'work_dirs/demo_bccd')
    parser.add_argument('--data-root', help='default: data/shapes, data/bccd')
    parser.add_argument('--num-train', type=int, default=2000, help='shapes only')
    parser.add_argument('--num-val', type=int, default=300, help='shapes only')
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations (default: the config\'s)')
    parser.add_argument('--num-pictures', type=int, default=8)
    parser.add_argument('--score-thr', type=float, default=0.4,
                        help='lowest score drawn in the picture')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the terminal too")
    args = parser.parse_args(argv)
    dataset = DATASETS[args.dataset]
    if args.src is not None and args.dataset != 'bccd':
        parser.error('--src applies to --dataset bccd')
    args.config = args.config or os.path.join(ROOT, dataset['config'])
    args.data_root = args.data_root or dataset['data_root']
    args.work_dir = args.work_dir or ('work_dirs/demo' if args.dataset == 'shapes'
                                      else f'work_dirs/demo_{args.dataset}')
    return args


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

    from mmdet_losses_lab.visualize import draw_detections, tile

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


def print_table(metrics: dict, seconds: dict, title: str,
                classes: Sequence[str] = ()) -> None:
    rows = [(name, metrics.get(f'coco/{key}')) for key, name in METRICS]
    # CocoMetric(classwise=True) logs each class's AP @[.50:.95] as <class>_precision
    rows += [(f'AP {name}', metrics.get(f'coco/{name}_precision')) for name in classes]
    width = max(len(name) for name, _ in rows)
    print(f'\n{title}, COCO box metric')
    print('-' * (width + 10))
    for name, value in rows:
        if value is not None and value >= 0:  # -1: no object of that size
            print(f'{name:<{width}}  {value:7.3f}')
    print('-' * (width + 10))
    for step, sec in seconds.items():
        print(f'{step:<{width}}  {sec / 60:5.1f} min')


def main(argv=None):
    from mmdet_losses_lab.training.quiet import quiet_warnings

    quiet_warnings()
    args = parse_args(argv)
    start = time.time()

    # The losses are a sliver of a CPU iteration here: compiling them cost ~9 s up
    # front and saved ~4 ms per iteration (measured on 2 cores). MMDET_LOSSES_COMPILE=1
    # opts back in.
    if 'MMDET_LOSSES_COMPILE' not in os.environ:
        from mmdet_losses.functional.compile import set_compile
        set_compile(False)

    from mmdet_losses_lab.training.config import set_data_root, set_max_iters
    from mmdet_losses_lab.training.console import quiet_console
    from mmdet_losses_lab.training.runner import (build_runner, load_config,
                                                  prepare_config)

    cfg = load_config(args.config, args.work_dir, args.cfg_options)
    set_data_root(cfg, args.data_root)
    prepare_config(cfg)  # the config checks, before any data is made or read

    if args.dataset == 'bccd':
        from mmdet_losses_lab.data.bccd import prepare_bccd
        prepare_bccd(args.data_root, args.src, verbose=True)
    else:
        from mmdet_losses_lab.data.shapes import make_shapes
        make_shapes(args.data_root, args.num_train, args.num_val, verbose=True)
    seconds = {'data': time.time() - start}
    if args.iters is not None:
        set_max_iters(cfg, args.iters)
    # Evaluate once, at the last iteration, and keep what the evaluation finds.
    cfg.train_cfg.val_interval = cfg.train_cfg.max_iters
    cfg.val_evaluator.classwise = True
    with quiet_console(not args.verbose, show_metrics=False) as console:
        runner = build_runner(cfg, console)
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

    dataset = DATASETS[args.dataset]
    print_table(metrics, seconds, dataset['title'],
                runner.val_dataloader.dataset.metainfo['classes'])
    if 'coco/bbox_mAP' not in metrics:
        raise RuntimeError('the evaluation returned no COCO metric (no detection '
                           'above the score threshold?)')
    box_map = metrics['coco/bbox_mAP']
    verdict = 'reached' if box_map >= dataset['target'] else 'MISSED'
    print(f'\nbbox mAP {box_map:.3f}: target {dataset["target"]} {verdict}.')
    print(f'predictions  {picture}')
    if console is not None:
        print(f'full log     {console.log_file}')
    return metrics


if __name__ == '__main__':
    from mmdet_losses.engine.doctor import ConfigError

    try:
        main()
    except (ConfigError, RuntimeError, FileNotFoundError) as error:
        sys.exit(f'error: {error}')
