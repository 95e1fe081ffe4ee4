"""Regenerate the tables of the docs from the grids' summaries
(mmdet_losses_lab.ablation.doc_tables), or check that they are up to date.

    python tools/docs_tables.py [--check] [PAGE.md ...]   # default: docs/*.md

A table is generated where a page marks it with a ``<!-- table ... -->`` comment
(what to show, from which ``results/<grid>/summary.csv``); ``--check`` exits 1 and
names the pages whose tables differ from their summaries.
"""
import argparse
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(ROOT, 'mmdet_losses_lab')):  # a checkout: its package
    sys.path.insert(0, ROOT)

from mmdet_losses_lab.ablation.doc_tables import render_page  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('pages', nargs='*', help='default: docs/*.md')
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 if a table is out of date')
    parser.add_argument('--root', default=ROOT,
                        help='where the sources (results/...) are found')
    args = parser.parse_args(argv)
    pages = args.pages or sorted(glob.glob(os.path.join(args.root, 'docs', '*.md')))
    stale = []
    for page in pages:
        with open(page, encoding='utf-8') as f:
            text = f.read()
        try:
            new = render_page(text, args.root)
        except (ValueError, FileNotFoundError, KeyError) as error:
            print(f'error: {page}: {error}', file=sys.stderr)
            return 2
        if new != text:
            stale.append(page)
            if not args.check:
                with open(page, 'w', encoding='utf-8') as f:
                    f.write(new)
    verb = 'out of date' if args.check else 'rewritten'
    for page in stale:
        print(f'{os.path.relpath(page, args.root)}: {verb}')
    return 1 if stale and args.check else 0


if __name__ == '__main__':
    sys.exit(main())
