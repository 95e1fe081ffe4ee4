"""Warnings the tools silence: third-party noise that says nothing about the user's
run. Only these exact messages are filtered; every other warning still shows.

* ``pkg_resources is deprecated as an API``: setuptools warns whenever
  ``pkg_resources`` is imported, and MMEngine imports (and re-imports, shown as
  ``_bootstrap._exec(spec, module)``) it each time a config names an ``mmdet::`` or
  ``mmdet_losses::`` base.
"""
import warnings

NOISE = (
    dict(message=r'pkg_resources is deprecated as an API', category=UserWarning),
    dict(message=r'Deprecated call to `pkg_resources\.declare_namespace',
         category=DeprecationWarning),
)


def quiet_warnings() -> None:
    """Ignore the warnings of :data:`NOISE` from here on (idempotent)."""
    for noise in NOISE:
        warnings.filterwarnings('ignore', **noise)
