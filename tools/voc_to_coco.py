"""Convert a Pascal VOC detection set to COCO files (any VOC-style set). Same as
``python -m mmdet_losses_lab.data.voc``.

    python tools/voc_to_coco.py VOC_ROOT OUT [--classes A B ...] [--splits ...]
        [--seed S] [--fractions train=0.6 val=0.2 test=0.2] [--min-size PX]

Uses ``ImageSets/Main/<split>.txt`` where the set has them, a seeded split otherwise;
boxes are clipped to the image, and inverted, point-sized or out-of-image boxes are
dropped and counted in what it prints (mmdet_losses_lab.data.voc).
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.data.voc import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
