"""The training tools' short terminal view (mmdet_losses_lab.training.console) in
parts: what the stdout sink does with printed text before and after a runner is
attached, which MMEngine handler it takes over, when a tool is quiet, the metrics
lines. End to end: tests/test_train.py (tools/train.py --quiet) and the demo tests
of tests/test_tools.py."""
import argparse
import io
import logging
import sys

import pytest

from mmdet_losses_lab.training import console as console_module
from mmdet_losses_lab.training.console import metrics_lines, quiet_console
from mmdet_losses_lab.training.runner import add_console_arguments, quiet_wanted


class FakeRunner:
    """What ``attach`` uses of a runner: its logger's handlers and its hooks."""

    def __init__(self, log_file):
        self.logger = logging.getLogger(f'test_console.{id(self)}')
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        # as MMLogger: a stream handler on sys.stdout at creation, a file handler
        self.stream_handler = logging.StreamHandler(sys.stdout)
        self.file_handler = logging.FileHandler(log_file)
        self.logger.addHandler(self.stream_handler)
        self.logger.addHandler(self.file_handler)
        self.hooks = []

    def register_hook(self, hook, priority):
        self.hooks.append((type(hook).__name__, priority))


def test_the_sink_drops_the_build_and_logs_prints_after_attach(tmp_path, monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', terminal)
    log_file = tmp_path / 'run.log'
    with quiet_console() as console:
        runner = FakeRunner(str(log_file))
        runner.logger.info('Config: 600 lines')          # while the runner is built
        print('loading annotations', end='')             # completed after attach
        console.attach(runner)
        print(' into memory...\nindex created!')          # pycocotools, after attach
        print('partial line', end='')
        runner.logger.info('Iter(train) [1/3]')
        runner.logger.error('NaN in loss_cls')
    assert sys.stdout is terminal
    assert console.log_file == str(log_file)
    assert runner.hooks == [('ProgressBarHook', 'VERY_LOW')]
    # the terminal: errors only
    assert terminal.getvalue() == 'NaN in loss_cls\n'
    assert runner.stream_handler.stream is terminal
    assert runner.stream_handler.level == logging.ERROR
    # the file: everything logged, and the lines printed after attach (the last
    # one closed at the exit)
    runner.file_handler.close()
    assert log_file.read_text().splitlines() == [
        'Config: 600 lines', 'loading annotations into memory...', 'index created!',
        'Iter(train) [1/3]', 'NaN in loss_cls', 'partial line']


def test_disabled_changes_nothing(monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', terminal)
    with quiet_console(enabled=False) as console:
        print('Config:')
    assert console is None and terminal.getvalue() == 'Config:\n'


def test_echo_reaches_the_terminal_inside_the_block(monkeypatch):
    terminal = io.StringIO()
    monkeypatch.setattr(sys, 'stdout', terminal)
    with quiet_console() as console:
        console.echo('training  RetinaNet')
        print('swallowed')
    assert terminal.getvalue() == 'training  RetinaNet\n'


@pytest.mark.parametrize('argv, tty, default, quiet', [
    ([], True, None, True), ([], False, None, False),
    (['--verbose'], True, None, False), (['--quiet'], False, None, True),
    ([], False, True, True), (['--verbose'], False, True, False),
])
def test_when_a_tool_is_quiet(monkeypatch, argv, tty, default, quiet):
    parser = argparse.ArgumentParser()
    add_console_arguments(parser)
    monkeypatch.setattr(sys, 'stdout', type('Out', (io.StringIO, ), {
        'isatty': lambda self: tty})())
    assert quiet_wanted(parser.parse_args(argv), default) is quiet


def test_verbose_and_quiet_exclude_each_other(capsys):
    parser = argparse.ArgumentParser()
    add_console_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(['--verbose', '--quiet'])
    assert 'not allowed with argument' in capsys.readouterr().err


def test_metrics_lines():
    assert metrics_lines({'coco/bbox_mAP': 0.70312, 'coco/bbox_mAP_50': 1,
                          'coco/bbox_mAP_copypaste': '0.703 ...'}, 'evaluation') == [
        'evaluation', '  coco/bbox_mAP     0.7031', '  coco/bbox_mAP_50  1.0000']
    assert metrics_lines({}, 'evaluation') == []
    assert metrics_lines(None, 'evaluation') == []


def test_paths_are_shown_relative_below_the_working_directory(tmp_path,
                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert console_module._shown_path(str(tmp_path / 'work' / 'a.log')) == \
        'work/a.log'
    assert console_module._shown_path('/elsewhere/a.log') == '/elsewhere/a.log'
