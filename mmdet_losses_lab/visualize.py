"""Drawing detections with OpenCV alone (no MMDetection visualizer, no matplotlib)."""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

Colour = Tuple[int, int, int]


def draw_detections(image: np.ndarray,
                    boxes: np.ndarray,
                    labels: np.ndarray,
                    scores: np.ndarray,
                    class_names: Sequence[str],
                    palette: Sequence[Colour],
                    gt_boxes: Optional[np.ndarray] = None,
                    score_thr: float = 0.3,
                    scale: int = 2) -> np.ndarray:
    """Draw predicted boxes (class colour, label and score) and, optionally, the
    ground-truth boxes (thin white) on a copy of a BGR image.

    Args:
        image: ``uint8 (H, W, 3)`` BGR image.
        boxes: ``(N, 4)`` x1y1x2y2 predictions in image pixels.
        labels: ``(N,)`` class indices.
        scores: ``(N,)`` confidences; those below ``score_thr`` are not drawn.
        class_names, palette: name and BGR colour of each class.
        gt_boxes: ``(M, 4)`` x1y1x2y2 ground truth, or ``None``.
        scale: upscaling of the picture, so that small images stay readable.

    Returns:
        the ``uint8 (scale H, scale W, 3)`` picture.
    """
    canvas = cv2.resize(image, None, fx=scale, fy=scale,
                        interpolation=cv2.INTER_NEAREST)
    if gt_boxes is not None:
        for box in np.asarray(gt_boxes, dtype=np.float64) * scale:
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            cv2.rectangle(canvas, (x1, y1), (x2, y2), (255, 255, 255), 1)
    order = np.argsort(scores)  # strongest drawn last, on top
    for i in order:
        if scores[i] < score_thr:
            continue
        colour = tuple(int(c) for c in palette[int(labels[i]) % len(palette)])
        x1, y1, x2, y2 = (int(round(v)) for v in np.asarray(boxes[i]) * scale)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        text = f'{class_names[int(labels[i])]} {scores[i]:.2f}'
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)
        y_text = max(y1, h + 2)
        cv2.rectangle(canvas, (x1, y_text - h - 2), (x1 + w + 2, y_text), colour, -1)
        cv2.putText(canvas, text, (x1 + 1, y_text - 2), cv2.FONT_HERSHEY_SIMPLEX,
                    0.35, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def tile(pictures: Sequence[np.ndarray], columns: int = 4,
         border: int = 4) -> np.ndarray:
    """Arrange equally sized pictures in a grid with a black border."""
    if not pictures:
        raise ValueError('tile needs at least one picture')
    h, w = pictures[0].shape[:2]
    rows = -(-len(pictures) // columns)
    grid = np.zeros((rows * (h + border) + border, columns * (w + border) + border,
                     3), np.uint8)
    for index, picture in enumerate(pictures):
        r, c = divmod(index, columns)
        y, x = border + r * (h + border), border + c * (w + border)
        grid[y:y + h, x:x + w] = picture
    return grid
