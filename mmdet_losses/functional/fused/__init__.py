"""Fused kernels: a reduced loss in one pass with a hand-derived gradient, compiled
where a compiler is available, each tested against its plain reference in
``category/`` or ``location/``. Category: :mod:`.binary` (the engine of the sigmoid
losses), :mod:`.focal`, :mod:`.quality`. Boxes: :mod:`.iou` (the IoU family's sums
and the one place that decides what runs fused), :mod:`.iou_term_grads` (each loss
in its box terms), :mod:`.geometry_backward` (the terms in the coordinates)."""
