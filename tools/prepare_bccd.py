"""Prepare BCCD (blood cells, MIT licence, github.com/Shenggan/BCCD_Dataset) as COCO
files in data/bccd: from a local copy (--src: a clone, its BCCD folder or an
archive) or downloaded. Same as ``python -m mmdet_losses_lab.data.bccd``.

    python tools/prepare_bccd.py [--out data/bccd] [--src PATH] [--overwrite]
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.data.bccd import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
