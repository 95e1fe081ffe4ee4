# DINO, reduced (_base_/models/dino_r18_3scale.py), from scratch on the shapes
# dataset at 128 px on a CPU: focal + L1 + GIoU (mmdet_losses), DINO's weights and
# matcher. The shapes schedule (1500 iterations of AdamW, batch 4, warm-up and cosine
# decay) at DINO's learning rate and gradient clipping.
_base_ = [
    '../_base_/models/dino_r18_3scale.py',
    '../_base_/datasets/shapes_detection.py',
    '../_base_/schedules/shapes_adamw_1500i.py', '../_base_/shapes_runtime.py'
]
optim_wrapper = dict(
    optimizer=dict(lr=2e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2))
