"""Where the configs and tools are, in a checkout and in an installed package, and
the ``mmdet_losses::`` config scope.

An installed package carries ``mmdet_losses/.mim/configs`` and
``mmdet_losses/.mim/tools`` (setup.py copies them into a wheel and links them in an
editable install), the layout OpenMMLab's projects use: MMEngine resolves
``_base_ = 'mmdet_losses::retinanet/...'`` in ``.mim/configs``, and openmim's
``mim train mmdet_losses CONFIG`` runs ``.mim/tools/train.py``.

MMEngine only resolves ``scope::path`` for the packages of its own list
(``mmengine.config.utils.MODULE2PACKAGE``); :func:`register_config_scope` adds this
package to it, and ``import mmdet_losses`` calls it.
"""
import os.path as osp

PACKAGE = 'mmdet_losses'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM_DIR = osp.join(PACKAGE_DIR, '.mim')


def checkout_root():
    """The repository root if the package is imported from a checkout, else None."""
    root = osp.dirname(PACKAGE_DIR)
    if osp.isfile(osp.join(root, 'setup.py')) and osp.isdir(osp.join(root, 'tools')) \
            and osp.isdir(osp.join(root, 'configs')):
        return root
    return None


def _resource_dir(name: str) -> str:
    # A checkout's own folder first: a wheel built from the checkout leaves copies in
    # .mim that would go stale.
    root = checkout_root()
    if root is not None:
        return osp.join(root, name)
    path = osp.join(MIM_DIR, name)
    if not osp.isdir(path):
        raise FileNotFoundError(
            f'{path} is missing: this installation of {PACKAGE} ships no {name}. '
            'Reinstall it from a wheel or with pip install (its setup.py copies '
            f'{name}/ into the package).')
    return path


def tools_dir() -> str:
    """``tools/`` of the checkout, or ``.mim/tools`` of the installed package."""
    return _resource_dir('tools')


def configs_dir() -> str:
    """``configs/`` of the checkout, or ``.mim/configs`` of the installed package."""
    return _resource_dir('configs')


def tool(name: str) -> str:
    """The path of one tool, e.g. ``tool('train.py')``."""
    path = osp.join(tools_dir(), name)
    if not osp.isfile(path):
        raise FileNotFoundError(f'no tool {name!r} in {tools_dir()}')
    return path


def _distribution_dir():
    """Where MMEngine will look for the package: its distribution's location (what
    ``mmengine.utils.get_installed_path`` computes), or None without one."""
    from importlib import metadata

    try:
        return str(metadata.distribution(PACKAGE).locate_file(PACKAGE))
    except metadata.PackageNotFoundError:
        return None  # not installed: MMEngine falls back to the import path


def register_config_scope() -> None:
    """Let MMEngine resolve ``mmdet_losses::path`` configs; idempotent.

    An editable install (``pip install -e .``) keeps its distribution metadata in
    site-packages and the package in the checkout; MMEngine 0.10 looks for the
    package beside the metadata and does not find it. In that case only, the
    config loader's ``get_installed_path`` answers this package's directory for
    ``mmdet_losses`` (and defers to MMEngine's for every other package).
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils

    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    found = _distribution_dir()
    if found is None or osp.realpath(found) == osp.realpath(PACKAGE_DIR):
        return
    lookup = config_module.get_installed_path
    if getattr(lookup, 'answers_mmdet_losses', False):
        return

    def get_installed_path(package: str) -> str:
        return PACKAGE_DIR if package == PACKAGE else lookup(package)

    get_installed_path.answers_mmdet_losses = True
    config_module.get_installed_path = get_installed_path
