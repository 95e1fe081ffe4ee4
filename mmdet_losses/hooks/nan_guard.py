"""``NaNGuardHook``: stop a training run at its first non-finite loss term.

Without it, a run whose loss turns NaN (diverged weights, a bad batch, a learning
rate too high) keeps stepping the optimizer with NaN gradients, every weight becomes
NaN, and the run trains to its end and exits 0 with a worthless checkpoint.

The hook checks the loss terms of every training step *before* the optimizer step:
it wraps the model's ``parse_losses`` (which sees every term) and the optimizer
wrapper's ``update_params`` (which performs the step). A step with a non-finite term
either stops the run with :class:`NonFiniteLossError`, naming the terms, the
iteration and the last finite values, or, with ``max_skips=K``, is skipped (no
backward, no optimizer step, the weights stay as they were) up to K times in the run.
In a distributed run the ranks agree: one rank's bad step is every rank's.

The check costs one host-device synchronisation per iteration, which MMEngine's
logging performs anyway when it reads the loss values.
"""
import math
from typing import Dict, List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor

from ..registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """A loss term became NaN or infinite."""


def _format(values: Dict[str, float]) -> str:
    return ', '.join(f'{name}={value:.6g}' for name, value in values.items()) \
        or '(none: the first step)'


@HOOKS.register_module()
class NaNGuardHook(Hook):
    """Stop the run (or skip the step) when a loss term becomes non-finite.

    Args:
        max_skips: how many steps with a non-finite term to skip over the whole
            run before stopping; 0 (default) stops at the first one.

    Config::

        custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
    """

    priority = 'VERY_HIGH'

    def __init__(self, max_skips: int = 0) -> None:
        if isinstance(max_skips, bool) or not isinstance(max_skips, int) \
                or max_skips < 0:
            raise ValueError(f'max_skips must be an integer >= 0, got {max_skips!r}')
        self.max_skips = max_skips
        self.skipped: List[int] = []
        self.last_finite: Dict[str, Tensor] = {}
        self.last_finite_iter: Optional[int] = None
        self._skip_step = False
        self._restore: List = []

    # ------------------------------------------------------------------ wiring
    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._wrap(model, 'parse_losses', self._guarded_parse_losses(runner, model))
        wrappers = runner.optim_wrapper
        for wrapper in (wrappers.values() if hasattr(wrappers, 'values')
                        else [wrappers]):
            self._wrap(wrapper, 'update_params', self._guarded_update(wrapper))

    def after_train(self, runner) -> None:
        for obj, name, previous in reversed(self._restore):
            if previous is None:
                delattr(obj, name)  # the instance attribute shadowed the method
            else:
                setattr(obj, name, previous)
        self._restore.clear()

    def _wrap(self, obj, name: str, replacement) -> None:
        self._restore.append((obj, name, obj.__dict__.get(name)))
        setattr(obj, name, replacement)

    # ------------------------------------------------------------------ the check
    def _guarded_parse_losses(self, runner, model):
        parse_losses = model.parse_losses

        def guarded(losses):
            loss, log_vars = parse_losses(losses)
            self._check(runner, log_vars)
            return loss, log_vars

        return guarded

    def _guarded_update(self, wrapper):
        update_params = wrapper.update_params

        def guarded(loss, *args, **kwargs):
            if self._skip_step:
                self._skip_step = False
                wrapper.zero_grad()
                return None
            return update_params(loss, *args, **kwargs)

        return guarded

    def _check(self, runner, log_vars: Dict[str, Tensor]) -> None:
        terms = {name: value.detach() for name, value in log_vars.items()
                 if isinstance(value, Tensor) and value.numel() == 1}
        if not terms:
            return
        finite = torch.stack([v.float().reshape(()) for v in terms.values()]
                             ).isfinite()
        bad_here = (~finite).any().to(torch.int32)
        bad = bad_here.clone()
        if torch_dist.is_available() and torch_dist.is_initialized():
            torch_dist.all_reduce(bad, op=torch_dist.ReduceOp.MAX)
        if not bool(bad):  # the one synchronisation per step
            self.last_finite = terms
            self.last_finite_iter = runner.iter + 1
            return
        iteration = runner.iter + 1
        non_finite = {name: float(value) for (name, value), ok in
                      zip(terms.items(), finite.tolist()) if not ok}
        where = _format(non_finite) if non_finite else 'on another rank'
        if len(self.skipped) < self.max_skips:
            self.skipped.append(iteration)
            self._skip_step = True
            runner.logger.warning(
                f'NaNGuardHook: non-finite loss at iteration {iteration} ({where}); '
                f'step skipped ({len(self.skipped)} of max_skips={self.max_skips})')
            return
        raise NonFiniteLossError(self._message(iteration, non_finite, where))

    def _message(self, iteration: int, non_finite: Dict[str, float],
                 where: str) -> str:
        names = ', '.join(n for n in non_finite if n != 'loss') or \
            ', '.join(non_finite) or 'a loss term'
        last = {name: float(value) for name, value in self.last_finite.items()
                if math.isfinite(float(value))}
        message = (f'NaNGuardHook: {names} became non-finite at iteration '
                   f'{iteration} ({where}). Last finite values')
        message += f' (iteration {self.last_finite_iter}): ' \
            if self.last_finite_iter is not None else ': '
        message += _format(last) + '.'
        if self.skipped:
            message += (f' Steps skipped before: iterations '
                        f'{", ".join(map(str, self.skipped))}.')
        message += (' The run is stopped before the optimizer step, so the last '
                    'checkpoint holds finite weights. Lower the learning rate or '
                    "check the data; to skip up to K such steps instead, set "
                    "dict(type='mmdet_losses.NaNGuardHook', max_skips=K).")
        return message
