"""Write the seeded COCO-format shapes dataset (default: data/shapes, 2000 train and
300 val images of 128 px). Same as ``python -m mmdet_losses_lab.data.shapes``.

    python tools/make_shapes.py [--out DIR] [--num-train N] [--num-val N]
        [--seed S] [--size PX] [--overwrite]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmdet_losses_lab.data.shapes import main  # noqa: E402

if __name__ == '__main__':
    main()
