"""Location losses, element-wise (the plain autograd references). Boxes:
:mod:`.geometry` (the one geometry core), :mod:`.modifiers` (Alpha-IoU, Inner-IoU,
Focaler-IoU), :mod:`.iou` (IoU, GIoU, DIoU, CIoU, EIoU, WIoU), :mod:`.iou_shape`
(SIoU, Shape-IoU), :mod:`.iou_corners` (MPDIoU, PIoU), :mod:`.nwd`. Coordinates:
:mod:`.coordinate` (L1, L2, Smooth L1, Balanced L1), :mod:`.ghmr`. Distributions:
:mod:`.distribution` (DFL)."""
