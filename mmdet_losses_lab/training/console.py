"""What a training tool shows on the terminal: what is being trained, a progress bar
with the time left, the metrics, and where the full log is. MMEngine's full log (the
environment, the whole config, every logged line) still goes to the run's log file.

MMEngine's logger writes each record at the config's ``log_level`` to the terminal
(a ``StreamHandler`` on ``sys.stdout``, created when the runner is built) and to
``<work_dir>/<timestamp>/<timestamp>.log``; building the runner logs the environment
and the whole config (about 600 lines for the demo). :func:`quiet_console` replaces
``sys.stdout`` with a sink while the runner is built, so that handler writes to the
sink, and what is written there before :meth:`QuietConsole.attach` is dropped (it is
in the log file). ``attach`` turns that handler back to the terminal for errors only
and adds the progress bar; from then on, what anything else prints (pycocotools'
evaluation report) goes through the logger into the log file, line by line.
"""
import contextlib
import io
import logging
import os.path as osp
import sys
from typing import Iterator, List, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmdet_losses.engine.doctor import loss_dicts


class _Sink(io.TextIOBase):
    """``sys.stdout`` within :func:`quiet_console`: complete lines go to ``logger``
    at INFO once it is set, and nowhere before."""

    def __init__(self) -> None:
        self.logger: Optional[logging.Logger] = None
        self._pending = ''

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split('\n')
        for line in lines:
            if self.logger is not None and line.strip():
                self.logger.info(line.rstrip())
        return len(text)

    def close_pending(self) -> None:
        self.write('\n')


class QuietConsole:
    """The short terminal view of a run (see the module doc); ``terminal`` is the
    real standard output."""

    def __init__(self, terminal, show_metrics: bool = True) -> None:
        self.terminal = terminal
        self.show_metrics = show_metrics
        self.sink = _Sink()
        self.log_file: Optional[str] = None

    def echo(self, text: str = '') -> None:
        """Print on the terminal (above a running progress bar)."""
        from tqdm import tqdm
        tqdm.write(text, file=self.terminal)

    def attach(self, runner) -> None:
        """Send ``runner``'s terminal records (built within :func:`quiet_console`)
        to the terminal from ERROR up, the rest of the printing to its log file,
        and register the progress bar."""
        for handler in runner.logger.handlers:
            if isinstance(handler, logging.FileHandler):
                self.log_file = handler.baseFilename
            elif isinstance(handler, logging.StreamHandler) and \
                    handler.stream is self.sink:
                handler.setStream(self.terminal)
                handler.setLevel(logging.ERROR)
        self.sink.logger = runner.logger
        runner.register_hook(ProgressBarHook(self), priority='VERY_LOW')


@contextlib.contextmanager
def quiet_console(enabled: bool = True,
                  show_metrics: bool = True) -> Iterator[Optional[QuietConsole]]:
    """Within the block, ``sys.stdout`` is the console's sink: build the runner
    and ``attach`` it there. Yields ``None`` (and changes nothing) when not
    ``enabled``; ``show_metrics``: print the metrics of every evaluation."""
    if not enabled:
        yield None
        return
    console = QuietConsole(sys.stdout, show_metrics)
    with contextlib.redirect_stdout(console.sink):
        try:
            yield console
        finally:
            console.sink.close_pending()


def _shown_path(path: str) -> str:
    """``path`` relative to the working directory where it lies below it."""
    relative = osp.relpath(path)
    return path if relative.startswith('..') else relative


def run_summary(runner, log_file: Optional[str]) -> List[str]:
    """The lines that say what ``runner`` trains, on what, for how long, where."""
    cfg = runner.cfg
    losses = ', '.join(f"{path.partition('.')[2]} {loss['type']}"
                       for path, _, loss, _ in loss_dicts(cfg.get('model')))
    dataset = runner.train_dataloader.dataset
    data = f'{len(dataset)} training images'
    if cfg.get('val_dataloader'):
        data += f', {len(runner.val_dataloader.dataset)} validation images'
    root = getattr(dataset, 'data_root', None)
    device = next(runner.model.parameters()).device.type
    train_cfg = cfg.get('train_cfg', {})
    by_epoch = train_cfg.get('by_epoch') or \
        train_cfg.get('type') == 'EpochBasedTrainLoop'
    unit = 'epochs' if by_epoch else 'iterations'
    lines = [
        f"training  {cfg.model.get('type')} ({losses})",
        f'config    {_shown_path(cfg.filename)}' if cfg.filename else None,
        f'data      {data}' + (f' in {_shown_path(root)}' if root else ''),
        f'schedule  {runner.max_iters} iterations of '
        f'{runner.train_dataloader.batch_size} images on {device}' +
        (f", evaluation every {train_cfg['val_interval']} {unit}"
         if cfg.get('val_dataloader') and 'val_interval' in train_cfg else ''),
        f'work dir  {_shown_path(runner.work_dir)}',
        f'full log  {_shown_path(log_file)}' if log_file else None,
    ]
    return [line for line in lines if line is not None]


def metrics_lines(metrics: dict, title: str) -> List[str]:
    """The numeric metrics of an evaluation, one per line under ``title``."""
    numbers = {k: v for k, v in (metrics or {}).items()
               if isinstance(v, (int, float))}
    if not numbers:
        return []
    width = max(len(k) for k in numbers)
    return [title] + [f'  {k:<{width}}  {v:.4f}' for k, v in numbers.items()]


class ProgressBarHook(Hook):
    """The run's summary, a progress bar over the training iterations with the time
    left and the loss, one over each evaluation, and its metrics; on the main
    process only."""

    def __init__(self, console: QuietConsole) -> None:
        self.console = console
        self.train_bar = self.val_bar = None

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        from tqdm import tqdm

        for line in run_summary(runner, self.console.log_file):
            self.console.echo(line)
        self.train_bar = tqdm(total=runner.max_iters, initial=runner.iter,
                              desc='train', unit='it', dynamic_ncols=True,
                              file=sys.stderr)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.train_bar is None:
            return
        loss = (outputs or {}).get('loss')
        if loss is not None:
            value = loss.item() if hasattr(loss, 'item') else float(loss)
            self.train_bar.set_postfix_str(f'loss {value:.3f}', refresh=False)
        self.train_bar.update(1)

    def before_val_epoch(self, runner) -> None:
        if not is_main_process():
            return
        from tqdm import tqdm

        self.val_bar = tqdm(total=len(runner.val_dataloader), desc='evaluation',
                            unit='batch', leave=False, dynamic_ncols=True,
                            file=sys.stderr)

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        if self.val_bar is not None:
            self.val_bar.update(1)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self.val_bar is None:
            return
        self.val_bar.close()
        self.val_bar = None
        if self.console.show_metrics:
            for line in metrics_lines(metrics, f'evaluation at iteration {runner.iter}'):
                self.console.echo(line)

    def after_train(self, runner) -> None:
        if self.train_bar is not None:
            self.train_bar.close()
            self.train_bar = None
