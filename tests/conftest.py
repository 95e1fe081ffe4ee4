"""Test-wide settings.

Losses run eager in the tests (compilation costs tens of seconds per kernel on two
cores); ``tests/test_compile.py`` switches compilation on explicitly and checks the
compiled kernels against the eager ones.
"""
import os

os.environ.setdefault('MMDET_LOSSES_COMPILE', '0')
