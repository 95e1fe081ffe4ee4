"""Ablation studies: a grid of (category loss x location loss [x hyper-parameters])
trained with ``tools/train.py``, evaluated with the COCO metric and summed up in a
table and plots. The command line is ``tools/ablation.py``."""
from .grid import (CATEGORY_LOSSES, LOCATION_LOSSES, Run, make_grid,
                   parse_loss_spec)
from .report import collect_results, write_report
from .runner import run_grid

__all__ = [
    'CATEGORY_LOSSES', 'LOCATION_LOSSES', 'Run', 'make_grid', 'parse_loss_spec',
    'collect_results', 'write_report', 'run_grid'
]
