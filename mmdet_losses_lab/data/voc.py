"""Pascal VOC to COCO: any VOC-style detection set as the COCO files MMDetection's
``CocoDataset`` and ``CocoMetric`` read.

Input (a VOC root)::

    <root>/Annotations/<id>.xml          one per image: size, objects, boxes
    <root>/JPEGImages/<id>.jpg           the images (any extension)
    <root>/ImageSets/Main/<split>.txt    optional: the official split, one id a line

Output::

    <out>/annotations/instances_<split>.json
    <out>/images/<id>.jpg                every image of the set, copied once

Decisions, the same as MMDetection's ``tools/dataset_converters/pascal_voc.py`` where
it makes one:

* Boxes keep VOC's numbers as continuous coordinates: ``[xmin, ymin, xmax - xmin,
  ymax - ymin]`` in COCO, so a VOC box with ``xmin == xmax`` is a point, width 0.
* ``difficult`` objects become ``iscrowd=1``: ignored in training (MMDetection's
  ``ignore_flag``) and in the COCO evaluation.
* Boxes are clipped to the image. A box that is inverted (``xmax < xmin`` or
  ``ymax < ymin``), narrower or lower than ``min_size`` pixels after clipping (a
  point annotation), entirely outside the image, or of a class not in ``classes`` is
  dropped; every drop and every clip is counted by reason in the returned
  :class:`ConversionReport` and printed, never done silently.
* Classes: given, or the names found in the data, sorted. Category ids are
  ``1..C`` in that order.
* Splits: ``ImageSets/Main/<split>.txt`` where the set has them; otherwise every
  annotated image is shuffled by ``seed`` and cut by ``fractions``.
* Image sizes come from each file's ``<size>``; where it is missing or zero, from
  the image itself.
"""
import argparse
import json
import os
import os.path as osp
import random
import shutil
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

__all__ = ['DEFAULT_FRACTIONS', 'ConversionReport', 'VOCObject', 'read_voc_xml',
           'clip_box', 'split_ids', 'convert_voc', 'main']

# Seeded split of a set without ImageSets (BCCD's official split is 56/24/20).
DEFAULT_FRACTIONS = (('train', 0.6), ('val', 0.2), ('test', 0.2))
DROP_REASONS = ('inverted', 'point-sized', 'outside the image', 'unknown class')


@dataclass
class VOCObject:
    """One ``<object>`` of a VOC file, boxes as written (x1, y1, x2, y2)."""
    name: str
    box: Tuple[float, float, float, float]
    difficult: bool = False


@dataclass
class ConversionReport:
    """What one split's conversion kept, clipped and dropped."""
    split: str
    images: int = 0
    boxes: int = 0
    per_class: Counter = field(default_factory=Counter)
    clipped: int = 0
    dropped: Counter = field(default_factory=Counter)
    dropped_files: Dict[str, List[str]] = field(default_factory=dict)

    def drop(self, reason: str, image_id: str) -> None:
        self.dropped[reason] += 1
        self.dropped_files.setdefault(reason, []).append(image_id)

    def summary(self) -> str:
        classes = ', '.join(f'{name} {count}' for name, count in
                            sorted(self.per_class.items()))
        line = (f'{self.split}: {self.images} images, {self.boxes} boxes '
                f'({classes}); {self.clipped} clipped to the image')
        if self.dropped:
            drops = '; '.join(
                f'{count} {reason} ({", ".join(sorted(set(self.dropped_files[reason]))[:3])}'
                f'{", ..." if len(set(self.dropped_files[reason])) > 3 else ""})'
                for reason, count in sorted(self.dropped.items()))
            line += f'; dropped: {drops}'
        else:
            line += '; none dropped'
        return line


def _number(node: Optional[ET.Element], tag: str, path: str) -> float:
    child = None if node is None else node.find(tag)
    if child is None or child.text is None:
        raise ValueError(f'{path}: a <bndbox> without <{tag}>')
    try:
        return float(child.text)
    except ValueError:
        raise ValueError(f'{path}: <{tag}> must be a number, got '
                         f'{child.text!r}') from None


def read_voc_xml(path: str) -> Tuple[Optional[str], int, int, List[VOCObject]]:
    """``(file name, width, height, objects)`` of one VOC annotation file; width and
    height are 0 where the file does not give them."""
    root = ET.parse(path).getroot()
    filename = root.findtext('filename')
    size = root.find('size')

    def dim(tag):
        text = None if size is None else size.findtext(tag)
        try:
            return int(float(text)) if text else 0
        except ValueError:
            return 0
    objects = []
    for obj in root.findall('object'):
        box = obj.find('bndbox')
        coords = tuple(_number(box, tag, path) for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
        difficult = (obj.findtext('difficult') or '0').strip() == '1'
        objects.append(VOCObject((obj.findtext('name') or '').strip(), coords, difficult))
    return filename, dim('width'), dim('height'), objects


def clip_box(box: Sequence[float], width: int, height: int,
             min_size: float = 1.0) -> Tuple[Optional[Tuple[float, ...]], str]:
    """Clip ``(x1, y1, x2, y2)`` to ``[0, width] x [0, height]``.

    Returns:
        ``(clipped box or None, outcome)``: outcome ``'kept'``, ``'clipped'`` or the
        reason it is dropped (``'inverted'``, ``'point-sized'``, ``'outside the
        image'``).
    """
    x1, y1, x2, y2 = box
    if x2 < x1 or y2 < y1:
        return None, 'inverted'
    if x2 - x1 < min_size or y2 - y1 < min_size:
        return None, 'point-sized'
    cx1, cy1 = min(max(x1, 0.0), width), min(max(y1, 0.0), height)
    cx2, cy2 = min(max(x2, 0.0), width), min(max(y2, 0.0), height)
    if cx2 - cx1 < min_size or cy2 - cy1 < min_size:
        return None, 'outside the image'
    clipped = (cx1, cy1, cx2, cy2)
    return clipped, 'clipped' if clipped != (x1, y1, x2, y2) else 'kept'


def split_ids(voc_root: str, splits: Optional[Sequence[str]] = None, seed: int = 0,
              fractions: Sequence[Tuple[str, float]] = DEFAULT_FRACTIONS
              ) -> Dict[str, List[str]]:
    """Image ids per split: the official ``ImageSets/Main/<split>.txt`` where they
    exist (``splits``, default train, val, test that have a file), else a split of
    every annotation file shuffled by ``seed`` and cut by ``fractions``."""
    sets_dir = osp.join(voc_root, 'ImageSets', 'Main')
    names = list(splits) if splits else [name for name, _ in fractions]
    official = {name: osp.join(sets_dir, f'{name}.txt') for name in names}
    found = {name: path for name, path in official.items() if osp.isfile(path)}
    if found:
        missing = sorted(set(names) - set(found))
        if splits and missing:
            raise FileNotFoundError(f'split {missing[0]!r} has no {official[missing[0]]}')
        ids = {}
        for name, path in found.items():
            with open(path, encoding='utf-8') as f:
                ids[name] = [line.split()[0] for line in f if line.strip()]
        return ids
    total = sum(fraction for _, fraction in fractions)
    if not fractions or any(f <= 0 for _, f in fractions) or abs(total - 1) > 1e-6:
        raise ValueError(f'fractions must be positive and sum to 1, got {fractions}')
    ann_dir = osp.join(voc_root, 'Annotations')
    if not osp.isdir(ann_dir):
        raise FileNotFoundError(f'no Annotations folder in {voc_root}')
    all_ids = sorted(osp.splitext(name)[0] for name in os.listdir(ann_dir)
                     if name.endswith('.xml'))
    random.Random(seed).shuffle(all_ids)
    ids, start = {}, 0
    for index, (name, fraction) in enumerate(fractions):
        end = len(all_ids) if index == len(fractions) - 1 else \
            start + round(fraction * len(all_ids))
        ids[name] = sorted(all_ids[start:end])
        start = end
    return {name: ids[name] for name in names}


def _image_file(voc_root: str, image_id: str, filename: Optional[str]) -> str:
    image_dir = osp.join(voc_root, 'JPEGImages')
    candidates = ([filename] if filename else []) + [
        image_id + ext for ext in ('.jpg', '.jpeg', '.png', '.bmp', '.JPG', '.PNG')]
    for name in candidates:
        if osp.isfile(osp.join(image_dir, name)):
            return osp.join(image_dir, name)
    raise FileNotFoundError(f'no image for {image_id} in {image_dir}')


def _image_size(path: str) -> Tuple[int, int]:
    import cv2
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f'cannot read the image {path}')
    return image.shape[1], image.shape[0]


def _class_names(voc_root: str, ids: Dict[str, List[str]]) -> List[str]:
    names = set()
    for split_ids_ in ids.values():
        for image_id in split_ids_:
            _, _, _, objects = read_voc_xml(
                osp.join(voc_root, 'Annotations', f'{image_id}.xml'))
            names.update(obj.name for obj in objects)
    return sorted(names)


def convert_voc(voc_root: str, out_dir: str, classes: Optional[Sequence[str]] = None,
                splits: Optional[Sequence[str]] = None, seed: int = 0,
                fractions: Sequence[Tuple[str, float]] = DEFAULT_FRACTIONS,
                min_size: float = 1.0, info: Optional[Dict] = None,
                verbose: bool = False) -> Dict[str, ConversionReport]:
    """Write ``<out>/annotations/instances_<split>.json`` and ``<out>/images/``.

    Args:
        voc_root: folder holding ``Annotations/`` and ``JPEGImages/``.
        out_dir: where the COCO files and images go.
        classes: class names in category order; ``None``: the names in the data,
            sorted.
        splits: split names; ``None``: train, val and test (those with an
            ``ImageSets/Main`` file, or all three cut by ``fractions``).
        seed, fractions: the split of a set without ``ImageSets``.
        min_size: boxes narrower or lower than this (pixels, after clipping) are
            dropped as point-sized.
        info: the COCO ``info`` entry (source, licence).
        verbose: print each split's report.

    Returns:
        ``{split: ConversionReport}``.
    """
    if min_size <= 0:
        raise ValueError(f'min_size must be > 0, got {min_size}')
    ids = split_ids(voc_root, splits, seed, fractions)
    classes = list(classes) if classes is not None else _class_names(voc_root, ids)
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f'classes must be distinct names, got {classes}')
    category = {name: index + 1 for index, name in enumerate(classes)}
    image_out = osp.join(out_dir, 'images')
    os.makedirs(image_out, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    reports = {}
    for split, image_ids in ids.items():
        report = ConversionReport(split)
        images, annotations = [], []
        for image_id in image_ids:
            xml_path = osp.join(voc_root, 'Annotations', f'{image_id}.xml')
            filename, width, height, objects = read_voc_xml(xml_path)
            source = _image_file(voc_root, image_id, filename)
            if width <= 0 or height <= 0:
                width, height = _image_size(source)
            file_name = osp.basename(source)
            target = osp.join(image_out, file_name)
            if not osp.isfile(target) or osp.getsize(target) != osp.getsize(source):
                shutil.copyfile(source, target)
            image_index = len(images) + 1
            images.append(dict(id=image_index, file_name=file_name, width=width,
                               height=height))
            for obj in objects:
                if obj.name not in category:
                    report.drop('unknown class', image_id)
                    continue
                box, outcome = clip_box(obj.box, width, height, min_size)
                if box is None:
                    report.drop(outcome, image_id)
                    continue
                report.clipped += outcome == 'clipped'
                x1, y1, x2, y2 = box
                w, h = x2 - x1, y2 - y1
                annotations.append(dict(
                    id=len(annotations) + 1, image_id=image_index,
                    category_id=category[obj.name], bbox=[x1, y1, w, h], area=w * h,
                    segmentation=[[x1, y1, x2, y1, x2, y2, x1, y2]],
                    iscrowd=int(obj.difficult)))
                report.per_class[obj.name] += 1
        report.images, report.boxes = len(images), len(annotations)
        coco = dict(info=dict(info or {}, split=split), images=images,
                    annotations=annotations,
                    categories=[dict(id=category[name], name=name)
                                for name in classes])
        with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(coco, f)
        reports[split] = report
        if verbose:
            print(report.summary())
    return reports


def _fraction(text: str) -> Tuple[str, float]:
    name, sep, value = text.partition('=')
    try:
        if not sep or not name:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'a fraction is NAME=FRACTION such as train=0.6, got {text!r}') from None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a Pascal VOC detection set to COCO files.')
    parser.add_argument('voc_root', help='folder with Annotations/ and JPEGImages/')
    parser.add_argument('out', help='output data root')
    parser.add_argument('--classes', nargs='+',
                        help='class names in category order (default: the names in '
                        'the data, sorted); objects of other classes are dropped')
    parser.add_argument('--splits', nargs='+', help='default: train val test')
    parser.add_argument('--seed', type=int, default=0,
                        help='shuffle of a set without ImageSets/Main')
    parser.add_argument('--fractions', nargs='+', type=_fraction,
                        help='split of a set without ImageSets/Main, e.g. train=0.8 '
                        'val=0.2 (default: train=0.6 val=0.2 test=0.2)')
    parser.add_argument('--min-size', type=float, default=1.0,
                        help='boxes thinner than this (px) are dropped as points')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        convert_voc(args.voc_root, args.out, args.classes, args.splits, args.seed,
                    args.fractions or DEFAULT_FRACTIONS, args.min_size, verbose=True)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
