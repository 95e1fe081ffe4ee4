"""The two OpenMMLab stacks this package runs on, and what differs between them.

Two sets of distributions install the import packages ``mmengine``, ``mmcv`` and
``mmdet``:

* ``openmmlab``: OpenMMLab's own (``mmengine``, ``mmcv``, ``mmdet``). MMDetection's
  last release is 3.3.0 (January 2024); it refuses mmcv >= 2.2.0, and newer torch
  builds have no mmcv 2.1 wheel.
* ``onedl``: OneDL's maintained forks (``onedl-mmengine``, ``onedl-mmcv``,
  ``onedl-mmdetection``), the same import names, released for newer torch.

pip knows them as different distributions, so a requirement on ``mmdet`` beside
``onedl-mmdetection`` would install OpenMMLab's mmdet over the fork's files. This is
why the package requires neither stack (setup.py reads :data:`STACKS` from this file
for its extras): ``pip install mmdet_losses[openmmlab]`` or ``mmdet_losses[onedl]``
names one, and mmcv, source only in both, is built beside it (README). Do not
install both in one environment: the one installed last overwrites the other's
files, and pip's records then lie about what is imported.

What our code does differently per stack, each in the module that needs it:

* checkpoints (:mod:`~mmdet_losses.engine.checkpoint`): MMEngine 0.10.7 calls
  ``torch.load`` without ``weights_only``, which fails on MMEngine checkpoints under
  torch >= 2.6 unless their contents are allow-listed; onedl-mmengine first tries
  ``weights_only=True`` with its own list and, where that fails, reloads with
  ``weights_only=False``, running whatever code the file holds. Our allow-list is
  registered on both: it makes the first, safe load succeed.

Nothing in this module imports the stack: ``setup.py`` executes it.
"""
from typing import Dict, Optional

# Per stack: the extra's requirements (mmcv is built separately, see above). The
# upper bounds are the minor versions this package's test suite has run on.
STACKS: Dict[str, Dict[str, str]] = {
    'openmmlab': {'mmengine': 'mmengine>=0.7.1,<1.0', 'mmdet': 'mmdet>=3.0,<3.4'},
    'onedl': {'mmengine': 'onedl-mmengine>=0.10.8,<1.0',
              'mmdet': 'onedl-mmdetection>=3.4,<3.6'},
}


def requirement_name(requirement: str) -> str:
    """The distribution of a requirement string: ``'mmdet>=3.0'`` -> ``'mmdet'``."""
    for separator in '<>=!~;[ ':
        requirement = requirement.split(separator, 1)[0]
    return requirement


def installed_stack() -> Optional[str]:
    """The stack whose ``mmdet`` distribution is installed (``'openmmlab'``,
    ``'onedl'``), or ``None`` without MMDetection.

    Raises:
        RuntimeError: both stacks' MMDetection distributions are installed.
    """
    from importlib import metadata

    found = []
    for stack, requirements in STACKS.items():
        try:
            metadata.distribution(requirement_name(requirements['mmdet']))
        except metadata.PackageNotFoundError:
            continue
        found.append(stack)
    if len(found) > 1:
        names = ' and '.join(requirement_name(STACKS[s]['mmdet']) for s in found)
        raise RuntimeError(
            f'{names} are both installed; they write the same import package '
            "'mmdet'. Keep one stack per environment: pip uninstall the other and "
            'reinstall the one you keep')
    return found[0] if found else None
