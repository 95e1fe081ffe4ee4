"""Small Pascal VOC sets written for the tests: any flaw on demand, and a BCCD-like
GitHub archive layout."""
import os
import os.path as osp

import cv2
import numpy as np


def voc_xml(filename, objects, size=(64, 48)):
    """A VOC annotation; ``objects``: (name, (x1, y1, x2, y2)[, difficult])."""
    size_xml = '' if size is None else (
        f'<size><width>{size[0]}</width><height>{size[1]}</height>'
        '<depth>3</depth></size>')
    body = ''.join(
        f'<object><name>{o[0]}</name><difficult>{int(len(o) > 2 and o[2])}</difficult>'
        f'<bndbox><xmin>{o[1][0]}</xmin><ymin>{o[1][1]}</ymin>'
        f'<xmax>{o[1][2]}</xmax><ymax>{o[1][3]}</ymax></bndbox></object>'
        for o in objects)
    return f'<annotation><filename>{filename}</filename>{size_xml}{body}</annotation>'


def write_voc(root, images, image_sets=None):
    """``images``: {id: (objects, (width, height), size written in the XML?)}."""
    os.makedirs(osp.join(root, 'Annotations'), exist_ok=True)
    os.makedirs(osp.join(root, 'JPEGImages'), exist_ok=True)
    for image_id, (objects, (w, h), with_size) in images.items():
        cv2.imwrite(osp.join(root, 'JPEGImages', f'{image_id}.jpg'),
                    np.full((h, w, 3), 128, np.uint8))
        with open(osp.join(root, 'Annotations', f'{image_id}.xml'), 'w') as f:
            f.write(voc_xml(f'{image_id}.jpg', objects, (w, h) if with_size else None))
    if image_sets:
        os.makedirs(osp.join(root, 'ImageSets', 'Main'), exist_ok=True)
        for split, ids in image_sets.items():
            with open(osp.join(root, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
                f.write('\n'.join(ids) + '\n')
    return root


def bccd_like(root):
    """A GitHub-archive layout: <top>/BCCD/{Annotations,JPEGImages,ImageSets}, LICENSE."""
    voc = osp.join(root, 'BCCD_Dataset-master', 'BCCD')
    write_voc(voc, {'BloodImage_00001': ([('RBC', (1, 1, 30, 30)),
                                          ('WBC', (20, 20, 60, 44))], (64, 48), True),
                    'BloodImage_00002': ([('Platelets', (5, 5, 5, 5)),
                                          ('RBC', (2, 2, 12, 12))], (64, 48), True),
                    'BloodImage_00003': ([('RBC', (3, 3, 33, 33))], (64, 48), True)},
              {'train': ['BloodImage_00001'], 'val': ['BloodImage_00002'],
               'test': ['BloodImage_00003']})
    with open(osp.join(root, 'BCCD_Dataset-master', 'LICENSE'), 'w') as f:
        f.write('MIT License\nCopyright (c) 2017 shenggan\n')
    return osp.join(root, 'BCCD_Dataset-master')
