"""Ablation studies: a grid of (category loss x location loss [x hyper-parameters])
on any MMDetection detector (:mod:`.layout` finds where it keeps its losses,
:mod:`.heads` rewires them), trained with ``tools/train.py``, evaluated with the COCO
metric and summed up in a table and plots, every setting compared with a baseline
seed by seed (:mod:`.stats`). The command line is ``tools/ablation.py``."""
import importlib

# Each public name and the submodule it comes from, imported on first use: the
# statistics (.stats) and the records (.store) load without MMDetection.
_SOURCES = {
    'CATEGORY_LOSSES': 'grid', 'LOCATION_LOSSES': 'grid', 'Run': 'grid',
    'make_grid': 'grid', 'parse_loss_spec': 'grid',
    'DetectorLayout': 'layout', 'IncompatibleSetting': 'layout',
    'inspect_detector': 'layout',
    'collect_results': 'report', 'write_report': 'report',
    'run_grid': 'runner',
}
__all__ = list(_SOURCES)


def __getattr__(name):
    if name not in _SOURCES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{_SOURCES[name]}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
