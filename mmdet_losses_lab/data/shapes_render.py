"""Drawing one shapes image: backgrounds, clutter, objects and their exact boxes.

Pure numpy + OpenCV; :mod:`mmdet_losses_lab.data.shapes` writes these images as a COCO
dataset.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

SHAPES_CLASSES = ('square', 'circle', 'triangle')
# RGB colour per class, as MMDetection's dataset metainfo spells palettes.
SHAPES_PALETTE = [(220, 20, 60), (0, 128, 255), (0, 170, 0)]
SPLITS = ('train', 'val')


@dataclass(frozen=True)
class ShapesSpec:
    """What one generated image may contain.

    Args:
        image_size: side of the square images, in pixels.
        min_objects, max_objects: objects per image (uniform, inclusive).
        min_size, max_size: object extent before rotation (square side, circle
            diameter, triangle circumscribed diameter), in pixels.
        max_distractors: clutter items drawn behind the objects (uniform in
            ``[0, max_distractors]``).
        outline_prob: probability that an object is drawn as an outline only.
        min_gap: minimum gap between two object boxes, in pixels.
        max_aspect: objects are squeezed along x or y (chosen at random) by a
            factor uniform in ``[1, max_aspect]``: rectangles, ellipses and thin
            triangles with boxes up to ``max_aspect`` times longer than wide. The
            short side stays at least ``min_thickness`` pixels. 1 (the default):
            no squeezing, and no random draw for it.
        min_thickness: the thinnest a squeezed object gets, in pixels.
    """

    image_size: int = 128
    min_objects: int = 1
    max_objects: int = 4
    min_size: int = 12
    max_size: int = 56
    max_distractors: int = 5
    outline_prob: float = 0.2
    min_gap: int = 2
    max_aspect: float = 1.0
    min_thickness: int = 4

    @classmethod
    def for_size(cls, image_size: int) -> 'ShapesSpec':
        """The default spec with object sizes scaled to ``image_size``."""
        scale = image_size / cls.image_size
        return cls(image_size=image_size,
                   min_size=max(4, round(cls.min_size * scale)),
                   max_size=max(4, round(cls.max_size * scale)))

    def validate(self) -> None:
        if self.image_size < 32:
            raise ValueError(f'image_size must be >= 32, got {self.image_size}')
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError('need 1 <= min_objects <= max_objects, got '
                             f'{self.min_objects} and {self.max_objects}')
        if not 4 <= self.min_size <= self.max_size < self.image_size:
            raise ValueError('need 4 <= min_size <= max_size < image_size, got '
                             f'{self.min_size}, {self.max_size}, {self.image_size}')
        if not self.max_aspect >= 1.0:
            raise ValueError(f'max_aspect must be >= 1, got {self.max_aspect}')
        if not 1 <= self.min_thickness <= self.min_size:
            raise ValueError('need 1 <= min_thickness <= min_size, got '
                             f'{self.min_thickness} and {self.min_size}')




def _random_colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated BGR colour (HSV hue uniform, saturation and value high)."""
    hsv = np.array([[[rng.integers(0, 180), rng.integers(150, 256),
                      rng.integers(140, 256)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.int32)


def _muted_colour(rng: np.random.Generator) -> np.ndarray:
    """A background colour: any hue, moderate saturation."""
    hsv = np.array([[[rng.integers(0, 180), rng.integers(0, 140),
                      rng.integers(40, 230)]]], dtype=np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """One of five textures, plus mild pixel noise; float32 ``(size, size, 3)``."""
    kind = rng.integers(0, 5)
    c0, c1 = _muted_colour(rng), _muted_colour(rng)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == 0:  # flat
        t = np.zeros((size, size), np.float32)
    elif kind == 1:  # linear gradient at a random angle
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == 2:  # soft stripes
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.08, 0.3)
        t = 0.5 + 0.5 * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle))
                               / period)
    elif kind == 3:  # checkerboard
        cell = int(rng.integers(8, 33))
        iy, ix = np.mgrid[0:size, 0:size]
        t = (((iy // cell) + (ix // cell)) % 2).astype(np.float32)
    else:  # smooth random blobs
        coarse = rng.random((int(rng.integers(3, 9)),) * 2).astype(np.float32)
        t = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        t = np.clip(t, 0, 1)
    # Keep backgrounds lower-contrast than the objects drawn on them.
    strength = rng.uniform(0.3, 1.0)
    image = c0 + (c1 - c0) * (strength * t)[..., None]
    image += rng.normal(0, rng.uniform(2, 10), image.shape).astype(np.float32)
    return image


def _draw_distractor(rng: np.random.Generator, image: np.ndarray) -> None:
    """Clutter that is none of the classes: a line, a thin ellipse, a cross or dots."""
    size = image.shape[0]
    colour = tuple(int(c) for c in _random_colour(rng) * rng.uniform(0.5, 1.0))
    kind = rng.integers(0, 4)
    if kind == 0:
        p0 = tuple(int(v) for v in rng.integers(0, size, 2))
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        cv2.line(image, p0, p1, colour, int(rng.integers(1, 4)), cv2.LINE_AA)
    elif kind == 1:
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        major = int(rng.integers(8, 30))
        axes = (major, max(1, int(major * rng.uniform(0.1, 0.3))))
        cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour,
                    -1, cv2.LINE_AA)
    elif kind == 2:
        cx, cy = (int(v) for v in rng.integers(8, size - 8, 2))
        arm = int(rng.integers(4, 12))
        thickness = int(rng.integers(1, 3))
        cv2.line(image, (cx - arm, cy), (cx + arm, cy), colour, thickness)
        cv2.line(image, (cx, cy - arm), (cx, cy + arm), colour, thickness)
    else:
        for _ in range(int(rng.integers(3, 10))):
            centre = tuple(int(v) for v in rng.integers(0, size, 2))
            cv2.circle(image, centre, int(rng.integers(1, 3)), colour, -1)


def _polygon(rng: np.random.Generator, label: int, cx: float, cy: float,
             extent: float) -> Optional[np.ndarray]:
    """Vertices ``(K, 2)`` of a square or triangle; ``None`` for a circle."""
    if label == 1:
        return None
    if label == 0:
        # Tilted by at most 25 degrees: squares stay squares, never diamonds, which
        # a CPU-sized detector would take many more iterations to tell from triangles.
        angle = rng.uniform(-0.44, 0.44)
        radius = extent / 2 * np.sqrt(2)  # half diagonal of a side-``extent`` square
        corners = angle + np.pi / 4 + np.arange(4) * np.pi / 2
    else:
        angle = rng.uniform(0, 2 * np.pi)
        radius = extent / 2
        # Roughly equilateral: each vertex jittered by up to 15 degrees.
        corners = angle + np.arange(3) * 2 * np.pi / 3 + rng.uniform(-0.26, 0.26, 3)
    return np.stack([cx + radius * np.cos(corners), cy + radius * np.sin(corners)], 1)


def _squeeze(rng: np.random.Generator, spec: 'ShapesSpec',
             extent: float) -> Tuple[float, float]:
    """``(sx, sy)``: the factors the object's x and y extents are multiplied by."""
    if spec.max_aspect <= 1.0:
        return 1.0, 1.0
    most = max(1.0, min(spec.max_aspect, extent / spec.min_thickness))
    factor = 1.0 / rng.uniform(1.0, most)
    return (factor, 1.0) if rng.integers(0, 2) else (1.0, factor)


def _object_mask(label: int, cx: float, cy: float, extent: float,
                 polygon: Optional[np.ndarray], size: int,
                 thickness: int, squeeze: Tuple[float, float] = (1.0, 1.0)
                 ) -> np.ndarray:
    """The pixels the object covers (``thickness=-1``: filled), ``uint8 (S, S)``."""
    mask = np.zeros((size, size), np.uint8)
    # Sub-pixel positions through cv2's fixed-point ``shift``.
    shift = 4
    scale = 1 << shift
    if polygon is None and squeeze != (1.0, 1.0):
        axes = tuple(int(round(extent / 2 * f * scale)) for f in squeeze)
        cv2.ellipse(mask, (int(round(cx * scale)), int(round(cy * scale))), axes,
                    0.0, 0.0, 360.0, 1, thickness, cv2.LINE_8, shift)
    elif polygon is None:
        cv2.circle(mask, (int(round(cx * scale)), int(round(cy * scale))),
                   int(round(extent / 2 * scale)), 1, thickness, cv2.LINE_8, shift)
    else:
        points = np.round(polygon * scale).astype(np.int32)[None]
        if thickness < 0:
            cv2.fillPoly(mask, points, 1, cv2.LINE_8, shift)
        else:
            cv2.polylines(mask, points, True, 1, thickness, cv2.LINE_8, shift)
    return mask


def _box_of(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    """``(x1, y1, x2, y2)`` pixel extent of a mask (x2, y2 exclusive)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _boxes_apart(box: Sequence[int], others: List[Sequence[int]], gap: int) -> bool:
    return all(box[0] >= o[2] + gap or o[0] >= box[2] + gap or
               box[1] >= o[3] + gap or o[1] >= box[3] + gap for o in others)


def render_image(rng: np.random.Generator,
                 spec: ShapesSpec = ShapesSpec()) -> Tuple[np.ndarray, List[Dict]]:
    """Draw one image.

    Returns:
        ``(image, objects)``: a ``uint8 (S, S, 3)`` BGR image and one dict per object
        with ``label`` (0-based index into :data:`SHAPES_CLASSES`), ``bbox``
        ``[x, y, w, h]`` (COCO, pixels: the exact extent of the drawn pixels), ``area``
        (drawn pixels), ``stroke`` (outline thickness, 0 when filled) and ``polygon``
        (COCO segmentation: the shape's outline; for an outlined shape, the centre
        line of its stroke).
    """
    size = spec.image_size
    image = _background(rng, size)
    for _ in range(int(rng.integers(0, spec.max_distractors + 1))):
        _draw_distractor(rng, image)

    objects: List[Dict] = []
    boxes: List[Tuple[int, int, int, int]] = []
    wanted = int(rng.integers(spec.min_objects, spec.max_objects + 1))
    for _ in range(wanted * 20):  # placement attempts
        if len(objects) == wanted:
            break
        label = int(rng.integers(0, len(SHAPES_CLASSES)))
        extent = float(rng.uniform(spec.min_size, spec.max_size))
        margin = extent / 2 * (np.sqrt(2) if label == 0 else 1.0) + 1
        if 2 * margin >= size:
            continue
        cx, cy = rng.uniform(margin, size - margin, 2)
        polygon = _polygon(rng, label, cx, cy, extent)
        outlined = rng.random() < spec.outline_prob
        thickness = int(rng.integers(2, 4)) if outlined else -1
        squeeze = _squeeze(rng, spec, extent)
        if polygon is not None and squeeze != (1.0, 1.0):
            polygon = np.array([cx, cy]) + (polygon - [cx, cy]) * squeeze
        mask = _object_mask(label, cx, cy, extent, polygon, size, thickness, squeeze)
        box = _box_of(mask)
        if box is None or not _boxes_apart(box, boxes, spec.min_gap):
            continue
        # A colour that stands out from what lies under the object.
        under = image[mask > 0].mean(0)
        colour = _random_colour(rng)
        for _ in range(10):
            if np.abs(colour - under).sum() >= 150:
                break
            colour = _random_colour(rng)
        image[mask > 0] = colour
        boxes.append(box)
        if polygon is None:
            angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
            polygon = np.stack([cx + extent / 2 * squeeze[0] * np.cos(angles),
                                cy + extent / 2 * squeeze[1] * np.sin(angles)], 1)
        x1, y1, x2, y2 = box
        # cv2 puts pixel centres at integers, COCO at integers + 0.5.
        coco_polygon = (polygon + 0.5).reshape(-1)
        objects.append(dict(
            label=label,
            bbox=[x1, y1, x2 - x1, y2 - y1],
            area=float(mask.sum()),
            stroke=max(thickness, 0),
            polygon=[[round(float(v), 2) for v in coco_polygon]]))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of one image: independent of how many images are written."""
    return np.random.default_rng([seed, SPLITS.index(split), index])
