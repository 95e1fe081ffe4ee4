"""What a grid's manifest says of how it was made: the command as typed (paths under
the directory it ran in made relative), the commit of the checkout, the versions of
the stack, and the settings that change results or speed."""
import os
import os.path as osp
import platform
import shlex
import subprocess
from typing import Dict, Optional, Sequence

# Environment variables that change what a run computes or how fast.
SETTINGS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'MMDET_LOSSES_COMPILE',
            'CUDA_VISIBLE_DEVICES')


def grid_command(argv: Sequence[str], cwd: str, tool: str = 'tools/ablation.py') -> str:
    """``python tools/ablation.py ARGS`` with the arguments quoted as a shell
    needs them and paths under ``cwd`` relative to it."""
    root = osp.abspath(cwd) + os.sep
    words = [a[len(root):] if a.startswith(root) else a for a in argv]
    return ' '.join(['python', tool, *map(shlex.quote, words)])


def git_commit(repo: str) -> Optional[str]:
    """The checkout's commit, with ``+dirty`` when tracked files differ from it;
    ``None`` outside a git checkout."""
    try:
        commit = subprocess.run(['git', '-C', repo, 'rev-parse', 'HEAD'],
                                capture_output=True, text=True, timeout=30)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(['git', '-C', repo, 'status', '--porcelain',
                                '--untracked-files=no'],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ('+dirty' if dirty.stdout.strip() else '')


def versions() -> Dict[str, str]:
    """Python and the packages a run's numbers depend on."""
    found = {'python': platform.python_version()}
    for name in ('torch', 'mmcv', 'mmengine', 'mmdet', 'mmdet_losses'):
        try:
            module = __import__(name)
            found[name] = getattr(module, '__version__', 'unknown')
        except ImportError:
            found[name] = 'missing'
    return found


def environment(repo: str) -> Dict:
    """``{'commit', 'versions', 'settings'}`` of this process."""
    return {'commit': git_commit(repo), 'versions': versions(),
            'settings': {k: os.environ[k] for k in SETTINGS if k in os.environ}}
