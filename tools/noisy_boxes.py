"""Write loosened, jittered copies of a COCO data root's annotation files, as
annotators draw boxes (``<root>/annotations/instances_<split>_loose.json``). Same as
``python -m mmdet_losses_lab.data.box_noise``.

    python tools/noisy_boxes.py DATA_ROOT [--loosen 0.05] [--jitter 0.03] [--seed 0]
        [--splits train val] [--suffix loose]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.data.box_noise import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
