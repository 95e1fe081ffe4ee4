"""BCCD (Blood Cell Count and Detection) as a built-in real-image dataset.

364 microscope images of 640 x 480 with Pascal VOC boxes of three classes: red cells
(RBC, 85% of the boxes, touching and overlapping), white cells (WBC, large, rare)
and platelets (small, rare), the official train/val/test split (205/87/72).
MIT licence, copyright 2017 shenggan: https://github.com/Shenggan/BCCD_Dataset
(itself re-organised from cosmicad/dataset and akshaylamba/all_CELL_data).

:func:`prepare_bccd` reads a local copy (``src``: a clone of that repository, its
``BCCD`` folder, or an archive of it) or downloads the archive of the repository's
default branch, converts it with :func:`~mmdet_losses_lab.data.voc.convert_voc` and
writes, with the licence and the attribution::

    <out>/annotations/instances_{train,val,test}.json   <out>/images/*.jpg
    <out>/LICENSE   <out>/README.md   <out>/prepared.json

Usage::

    python tools/prepare_bccd.py [--out data/bccd] [--src PATH_OR_ARCHIVE]
    python -m mmdet_losses_lab.data.bccd --src ../BCCD_Dataset
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import tarfile
from typing import Dict, Optional, Sequence

from .voc import ConversionReport, convert_voc

__all__ = ['BCCD_CLASSES', 'BCCD_PALETTE', 'BCCD_URL', 'BCCD_ATTRIBUTION',
           'download', 'find_voc_root', 'is_prepared', 'prepare_bccd', 'main']

BCCD_CLASSES = ('RBC', 'WBC', 'Platelets')
BCCD_PALETTE = ((220, 20, 60), (0, 128, 255), (0, 170, 0))
BCCD_URL = 'https://github.com/Shenggan/BCCD_Dataset/archive/refs/heads/master.zip'
BCCD_ATTRIBUTION = (
    'BCCD Dataset, MIT licence, copyright 2017 shenggan, '
    'https://github.com/Shenggan/BCCD_Dataset (itself re-organised from '
    'cosmicad/dataset and akshaylamba/all_CELL_data)')
# Bumped when the conversion changes, so that stale data is rewritten.
FORMAT_VERSION = 1
SPLITS = ('train', 'val', 'test')


def _progress(total: Optional[int]):
    from tqdm import tqdm
    return tqdm(total=total, unit='B', unit_scale=True, unit_divisor=1024,
                desc='BCCD download', file=sys.stderr)


def download(url: str, dest: str, timeout: float = 30.0) -> str:
    """Download ``url`` to the file ``dest`` with a progress bar.

    Raises:
        RuntimeError: the download failed (offline, unreachable, HTTP error); the
            message says how to use a local copy instead (``--src``).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                open(dest, 'wb') as out:
            length = response.headers.get('Content-Length')
            with _progress(int(length) if length else None) as bar:
                while True:
                    chunk = response.read(1 << 16)
                    if not chunk:
                        break
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, 'reason', error)
        raise RuntimeError(
            f'could not download BCCD from {url} ({reason}). Without network, pass '
            '--src with a local copy: a clone of '
            'https://github.com/Shenggan/BCCD_Dataset, its BCCD folder, or an '
            'archive of it') from error
    return dest


def _extract(archive: str, into: str) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter='data')
    else:
        raise ValueError(f'{archive} is neither a zip nor a tar archive')


def find_voc_root(path: str) -> str:
    """The folder under ``path`` (itself included) that holds ``Annotations/`` and
    ``JPEGImages/``: the BCCD folder of a clone or an extracted archive."""
    for folder, dirs, _ in sorted(os.walk(path)):
        if 'Annotations' in dirs and 'JPEGImages' in dirs:
            return folder
    raise FileNotFoundError(f'no Pascal VOC set (Annotations/ and JPEGImages/) '
                            f'under {path}')


def _licence_file(voc_root: str) -> Optional[str]:
    for folder in (voc_root, osp.dirname(voc_root)):
        path = osp.join(folder, 'LICENSE')
        if osp.isfile(path):
            return path
    return None


def _stamp(out_dir: str) -> str:
    return osp.join(out_dir, 'prepared.json')


def is_prepared(out_dir: str) -> bool:
    """Whether ``out_dir`` holds BCCD as this version of the converter writes it."""
    try:
        with open(_stamp(out_dir), encoding='utf-8') as f:
            stamp = json.load(f)
    except (OSError, ValueError):
        return False
    return stamp.get('version') == FORMAT_VERSION and all(
        osp.isfile(osp.join(out_dir, 'annotations', f'instances_{split}.json'))
        for split in SPLITS)


def _readme(reports: Dict[str, ConversionReport]) -> str:
    lines = ['# BCCD, converted to COCO by mmdet_losses', '',
             f'Source: {BCCD_ATTRIBUTION}. Licence: LICENSE (MIT), kept with the data.',
             '', 'Conversion (mmdet_losses_lab.data.voc.convert_voc):', '']
    lines += [f'- {report.summary()}' for report in reports.values()]
    return '\n'.join(lines) + '\n'


def prepare_bccd(out_dir: str = 'data/bccd', src: Optional[str] = None,
                 url: str = BCCD_URL, overwrite: bool = False,
                 verbose: bool = False) -> Dict[str, ConversionReport]:
    """Write BCCD in COCO format to ``out_dir`` unless it is already there.

    Args:
        out_dir: the data root the BCCD configs read (``data/bccd``).
        src: a local copy: a clone of the repository, its ``BCCD`` folder, or a zip
            or tar archive of either. ``None``: download ``url``.
        url: the archive downloaded when ``src`` is ``None``.
        overwrite: convert again even if ``out_dir`` is prepared.
        verbose: print what is done and each split's report (drops and clips).

    Returns:
        ``{split: ConversionReport}``; empty when the data was already prepared.
    """
    if not overwrite and is_prepared(out_dir):
        if verbose:
            print(f'BCCD already prepared in {out_dir}')
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        if src is None:
            if verbose:
                print(f'downloading {url}')
            src = download(url, osp.join(tmp, 'bccd_archive'))
        elif not osp.exists(src):
            raise FileNotFoundError(f'--src {src} does not exist')
        if osp.isfile(src):
            _extract(src, osp.join(tmp, 'extracted'))
            src = osp.join(tmp, 'extracted')
        voc_root = find_voc_root(src)
        reports = convert_voc(voc_root, out_dir, classes=BCCD_CLASSES, splits=SPLITS,
                              info=dict(description='BCCD',
                                        url='https://github.com/Shenggan/BCCD_Dataset',
                                        licence='MIT'),
                              verbose=verbose)
        licence = _licence_file(voc_root)
        if licence is not None:
            shutil.copyfile(licence, osp.join(out_dir, 'LICENSE'))
    with open(osp.join(out_dir, 'README.md'), 'w', encoding='utf-8') as f:
        f.write(_readme(reports))
    with open(_stamp(out_dir), 'w', encoding='utf-8') as f:
        json.dump(dict(version=FORMAT_VERSION, splits={
            split: dict(images=r.images, boxes=r.boxes, dropped=dict(r.dropped))
            for split, r in reports.items()}), f, indent=1)
    if verbose:
        print(f'BCCD written to {out_dir} ({BCCD_ATTRIBUTION})')
    return reports


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Prepare BCCD (blood cells, Pascal VOC) as COCO files.')
    parser.add_argument('--out', default='data/bccd', help='output data root')
    parser.add_argument('--src', help='a local copy (clone, BCCD folder or archive); '
                        'default: download it from GitHub')
    parser.add_argument('--url', default=BCCD_URL, help='archive to download')
    parser.add_argument('--overwrite', action='store_true')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        prepare_bccd(args.out, args.src, args.url, args.overwrite, verbose=True)
    except (RuntimeError, FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
