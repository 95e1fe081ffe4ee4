"""Ablation studies: a grid of (category loss x location loss [x hyper-parameters])
on any MMDetection detector (:mod:`.heads` finds where it keeps its losses), trained
with ``tools/train.py``, evaluated with the COCO metric and summed up in a table and
plots, every setting compared with a baseline seed by seed (:mod:`.stats`). The
command line is ``tools/ablation.py``."""
from .grid import (CATEGORY_LOSSES, LOCATION_LOSSES, Run, make_grid,
                   parse_loss_spec)
from .heads import DetectorLayout, IncompatibleSetting, inspect_detector
from .report import collect_results, write_report
from .runner import run_grid

__all__ = [
    'CATEGORY_LOSSES', 'LOCATION_LOSSES', 'Run', 'make_grid', 'parse_loss_spec',
    'DetectorLayout', 'IncompatibleSetting', 'inspect_detector',
    'collect_results', 'write_report', 'run_grid'
]
