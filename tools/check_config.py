"""Check a config for the wiring mistakes that train silently and wrongly.

    python tools/check_config.py CONFIG [CONFIG ...] [--cfg-options k=v ...]

Prints every finding (error or warning) with the config path it concerns and the fix;
exits 1 if any config has an error, 0 otherwise. Nothing is built and no data is
read. tools/train.py, tools/test.py, tools/demo.py and tools/ablation.py run the same
checks (mmdet_losses.engine.doctor) on every config they start.
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses')):  # a checkout: its package
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+', metavar='CONFIG')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings before checking')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    from mmdet_losses_lab.training.quiet import quiet_warnings

    quiet_warnings()
    args = parse_args(argv)

    import mmdet_losses  # noqa: F401  (the mmdet_losses:: scope, our registries)
    from mmengine.config import Config

    from mmdet_losses.engine.doctor import check_config

    failed = False
    for path in args.configs:
        cfg = Config.fromfile(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        findings = check_config(cfg)
        errors = sum(f.level == 'error' for f in findings)
        print(f'{path}: {errors} error(s), {len(findings) - errors} warning(s)')
        for finding in findings:
            print(f'  {finding}')
        failed |= errors > 0
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
