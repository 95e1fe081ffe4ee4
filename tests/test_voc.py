"""Pascal VOC to COCO (mmdet_losses_lab.data.voc) and BCCD (mmdet_losses_lab.data.bccd):
official and seeded splits, the flaws of real annotations dropped or clipped and
counted, the download path, the BCCD set as it is."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from mmdet_losses_lab.data.bccd import (BCCD_CLASSES, download, is_prepared,
                                    prepare_bccd)
from mmdet_losses_lab.data.voc import clip_box, convert_voc, read_voc_xml, split_ids
from voc_utils import bccd_like, write_voc

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_BCCD = osp.join(osp.dirname(ROOT), 'shared', 'datasets', 'bccd')


# One image for each flaw of a real set; sizes differ (64 x 48, 100 x 80, 30 x 20).
FLAWED = {
    'a': ([('cat', (2, 3, 22, 33)), ('dog', (10, 10, 10, 10)),     # point-sized
           ('dog', (30, 20, 20, 40))], (64, 48), True),            # inverted
    'b': ([('dog', (90, 70, 120, 95)),                             # clipped to 100 x 80
           ('cat', (150, 10, 170, 30)),                            # outside the image
           ('cat', (5, 5, 25, 25), True),                          # difficult
           ('bird', (1, 1, 9, 9))], (100, 80), True),              # unknown if not given
    'c': ([('cat', (0, 0, 30, 20))], (30, 20), False),             # no <size>: read it
}


def load(out, split):
    with open(osp.join(out, 'annotations', f'instances_{split}.json')) as f:
        return json.load(f)


def test_flaws_dropped_clipped_and_counted(tmp_path):
    root = write_voc(str(tmp_path / 'voc'), FLAWED,
                     {'train': ['a', 'b'], 'val': ['c']})
    out = str(tmp_path / 'coco')
    reports = convert_voc(root, out, classes=['cat', 'dog'], splits=['train', 'val'])
    train = reports['train']
    # a: 1 cat kept, 1 point, 1 inverted; b: dog clipped, cat outside, difficult cat
    # kept as crowd, bird not a class.
    assert (train.images, train.boxes) == (2, 3)
    assert dict(train.dropped) == {'point-sized': 1, 'inverted': 1,
                                   'outside the image': 1, 'unknown class': 1}
    assert train.clipped == 1
    assert dict(train.per_class) == {'cat': 2, 'dog': 1}
    assert 'dropped: 1 inverted (a); 1 outside the image (b); 1 point-sized (a); ' \
        '1 unknown class (b)' in train.summary()
    coco = load(out, 'train')
    assert [c['name'] for c in coco['categories']] == ['cat', 'dog']
    assert [(i['file_name'], i['width'], i['height']) for i in coco['images']] == \
        [('a.jpg', 64, 48), ('b.jpg', 100, 80)]
    boxes = [(a['image_id'], a['category_id'], a['bbox'], a['iscrowd'])
             for a in coco['annotations']]
    assert boxes == [(1, 1, [2.0, 3.0, 20.0, 30.0], 0),
                     (2, 2, [90.0, 70.0, 10.0, 10.0], 0),   # 120 -> 100, 95 -> 80
                     (2, 1, [5.0, 5.0, 20.0, 20.0], 1)]
    assert [a['area'] for a in coco['annotations']] == [600.0, 100.0, 400.0]
    val = load(out, 'val')
    assert (val['images'][0]['width'], val['images'][0]['height']) == (30, 20)
    assert sorted(os.listdir(osp.join(out, 'images'))) == ['a.jpg', 'b.jpg', 'c.jpg']


def test_classes_from_the_data_sorted(tmp_path):
    root = write_voc(str(tmp_path / 'voc'), FLAWED, {'train': ['a', 'b', 'c']})
    out = str(tmp_path / 'coco')
    reports = convert_voc(root, out, splits=['train'])
    assert [c['name'] for c in load(out, 'train')['categories']] == \
        ['bird', 'cat', 'dog']
    assert 'unknown class' not in reports['train'].dropped


def test_every_kept_box_trains(tmp_path):
    """What MMDetection loads from the converted files has only boxes of positive
    width and height inside the image: nothing a loss could turn into a NaN."""
    from mmdet.datasets import CocoDataset
    root = write_voc(str(tmp_path / 'voc'), FLAWED, {'train': ['a', 'b', 'c']})
    out = str(tmp_path / 'coco')
    convert_voc(root, out, classes=['cat', 'dog'], splits=['train'])
    dataset = CocoDataset(data_root=out, ann_file='annotations/instances_train.json',
                          data_prefix=dict(img='images/'), metainfo=dict(
                              classes=('cat', 'dog')), pipeline=[], lazy_init=False)
    for info in dataset.data_list:
        for instance in info['instances']:
            x1, y1, x2, y2 = instance['bbox']
            assert 0 <= x1 < x2 <= info['width'] and 0 <= y1 < y2 <= info['height']


def test_seeded_split_without_image_sets(tmp_path):
    images = {f'{i:03d}': ([('cat', (1, 1, 9, 9))], (16, 16), True) for i in range(20)}
    root = write_voc(str(tmp_path / 'voc'), images)
    fractions = (('train', 0.6), ('val', 0.2), ('test', 0.2))
    ids = split_ids(root, seed=0, fractions=fractions)
    assert [len(ids[s]) for s in ('train', 'val', 'test')] == [12, 4, 4]
    assert sorted(sum(ids.values(), [])) == sorted(images)     # disjoint, complete
    assert split_ids(root, seed=0, fractions=fractions) == ids  # same seed, same split
    assert split_ids(root, seed=1, fractions=fractions) != ids
    reports = convert_voc(root, str(tmp_path / 'coco'), seed=0,
                          fractions=(('train', 0.75), ('val', 0.25)))
    assert {s: r.images for s, r in reports.items()} == {'train': 15, 'val': 5}
    with pytest.raises(ValueError, match='sum to 1'):
        split_ids(root, fractions=(('train', 0.5), ('val', 0.2)))


def test_official_split_used_and_missing_split_named(tmp_path):
    root = write_voc(str(tmp_path / 'voc'), FLAWED, {'train': ['a', 'c'], 'val': ['b']})
    assert split_ids(root) == {'train': ['a', 'c'], 'val': ['b']}
    with pytest.raises(FileNotFoundError, match='test'):
        split_ids(root, splits=['train', 'test'])


def test_clip_box_cases():
    assert clip_box((1, 2, 5, 6), 10, 10) == ((1, 2, 5, 6), 'kept')
    assert clip_box((-3, 2, 5, 16), 10, 10) == ((0.0, 2, 5, 10.0), 'clipped')
    assert clip_box((4, 4, 4, 8), 10, 10) == (None, 'point-sized')
    assert clip_box((4, 4, 4.5, 8), 10, 10) == (None, 'point-sized')  # under 1 px
    assert clip_box((6, 4, 5, 8), 10, 10) == (None, 'inverted')
    assert clip_box((12, 4, 15, 8), 10, 10) == (None, 'outside the image')


def test_bad_xml_named(tmp_path):
    path = tmp_path / 'x.xml'
    path.write_text('<annotation><object><name>a</name><bndbox><xmin>1</xmin>'
                    '<ymin>z</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object>'
                    '</annotation>')
    with pytest.raises(ValueError, match=r"x.xml: <ymin> must be a number, got 'z'"):
        read_voc_xml(str(path))


def test_voc_to_coco_cli(tmp_path):
    root = write_voc(str(tmp_path / 'voc'), FLAWED, {'train': ['a', 'b', 'c']})
    out = str(tmp_path / 'coco')
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'voc_to_coco.py'), root, out,
         '--classes', 'cat', 'dog', '--splits', 'train'],
        capture_output=True, text=True, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert 'train: 3 images, 4 boxes (cat 3, dog 1); 1 clipped' in result.stdout
    assert '1 point-sized (a)' in result.stdout
    missing = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'voc_to_coco.py'),
         str(tmp_path / 'nothing'), out], capture_output=True, text=True)
    assert missing.returncode == 2 and 'no Annotations folder' in missing.stderr


def test_bccd_download_path_from_an_archive_url(tmp_path, capsys):
    top = bccd_like(str(tmp_path / 'src'))
    archive = str(tmp_path / 'master.zip')
    with zipfile.ZipFile(archive, 'w') as zf:
        for folder, _, files in os.walk(top):
            for name in files:
                path = osp.join(folder, name)
                zf.write(path, osp.relpath(path, osp.dirname(top)))
    out = str(tmp_path / 'bccd')
    reports = prepare_bccd(out, url='file://' + archive, verbose=True)
    assert {s: (r.images, r.boxes) for s, r in reports.items()} == \
        {'train': (1, 2), 'val': (1, 1), 'test': (1, 1)}
    assert dict(reports['val'].dropped) == {'point-sized': 1}
    assert 'BCCD download' in capsys.readouterr().err          # the progress bar
    assert [c['name'] for c in load(out, 'train')['categories']] == list(BCCD_CLASSES)
    with open(osp.join(out, 'LICENSE')) as f:
        assert 'shenggan' in f.read()
    with open(osp.join(out, 'README.md')) as f:
        readme = f.read()
    assert 'https://github.com/Shenggan/BCCD_Dataset' in readme and 'MIT' in readme
    assert '1 point-sized (BloodImage_00002)' in readme
    assert is_prepared(out) and prepare_bccd(out, url='file:///nowhere.zip') == {}


def test_bccd_from_a_tar_archive_and_a_folder(tmp_path):
    top = bccd_like(str(tmp_path / 'src'))
    archive = str(tmp_path / 'bccd.tar.gz')
    with tarfile.open(archive, 'w:gz') as tf:
        tf.add(top, arcname='BCCD_Dataset-master')
    assert prepare_bccd(str(tmp_path / 'from_tar'), src=archive)['train'].boxes == 2
    assert prepare_bccd(str(tmp_path / 'from_dir'), src=osp.join(top, 'BCCD'))[
        'test'].boxes == 1


def test_bccd_offline_error_names_src(tmp_path):
    with pytest.raises(RuntimeError, match='pass --src with a local copy'):
        download('http://127.0.0.1:9/master.zip', str(tmp_path / 'x.zip'), timeout=5)
    result = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'prepare_bccd.py'), '--out',
         str(tmp_path / 'bccd'), '--url', 'http://127.0.0.1:9/master.zip'],
        capture_output=True, text=True)
    assert result.returncode == 2 and '--src' in result.stderr
    assert not osp.exists(osp.join(tmp_path, 'bccd', 'prepared.json'))


@pytest.mark.skipif(not osp.isdir(SHARED_BCCD), reason='no local copy of BCCD')
def test_bccd_as_it_is(tmp_path):
    """The real set: the official split, both point annotations dropped and named,
    every other box kept (4,888 in the files)."""
    out = str(tmp_path / 'bccd')
    reports = prepare_bccd(out, src=SHARED_BCCD)
    assert {s: r.images for s, r in reports.items()} == \
        {'train': 205, 'val': 87, 'test': 72}
    assert sum(r.boxes for r in reports.values()) == 4888 - 2
    assert reports['train'].dropped_files == {'point-sized': ['BloodImage_00343']}
    assert reports['val'].dropped_files == {'point-sized': ['BloodImage_00338']}
    total = {name: sum(r.per_class[name] for r in reports.values())
             for name in BCCD_CLASSES}
    assert total == {'RBC': 4155 - 2, 'WBC': 372, 'Platelets': 361}
    assert len(os.listdir(osp.join(out, 'images'))) == 364
    shutil.rmtree(out)
