"""Makes ``_base_ = 'mmdet_losses::...'`` resolve in any MMEngine program, MMDetection's
own ``tools/train.py`` included, where nothing imports mmdet_losses before MMEngine
reads a config's ``_base_``.

MMEngine resolves ``scope::path`` only for the packages of its list
``mmengine.config.utils.MODULE2PACKAGE``. An installed wheel puts
``mmdet_losses_scope.pth`` into site-packages, which runs :func:`install` at
interpreter start: it adds one entry to ``sys.meta_path`` that waits for
``mmengine.config.utils`` to be imported, adds ``mmdet_losses`` to that list right
after the module has run, and removes itself. Nothing else is imported or changed.
"""
import sys

TARGET = 'mmengine.config.utils'
PACKAGE = 'mmdet_losses'


def _register(module) -> None:
    # never let a change of MMEngine's internals break its own import
    packages = getattr(module, 'MODULE2PACKAGE', None)
    if isinstance(packages, dict):
        packages.setdefault(PACKAGE, PACKAGE)


class ScopeFinder:
    """A meta-path finder for :data:`TARGET` only: it asks the other finders for
    the module and wraps the loader so that :func:`_register` runs after it."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != TARGET:
            return None
        sys.meta_path[:] = [f for f in sys.meta_path if f is not cls]
        for finder in sys.meta_path:
            find_spec = getattr(finder, 'find_spec', None)
            spec = find_spec(name, path, target) if find_spec else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, 'exec_module', None)
        if exec_module is None:
            return spec

        def exec_and_register(module):
            exec_module(module)
            _register(module)

        loader.exec_module = exec_and_register
        return spec


def install() -> None:
    """Register the scope now if MMEngine's config module is loaded, else when it
    is; idempotent."""
    module = sys.modules.get(TARGET)
    if module is not None:
        _register(module)
    elif ScopeFinder not in sys.meta_path:
        sys.meta_path.insert(0, ScopeFinder)
