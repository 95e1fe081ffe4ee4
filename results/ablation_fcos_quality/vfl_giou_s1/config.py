_base_ = ['/work/main/configs/shapes/fcos_r18_fpn_gn-head_giou_1xb4-1500i_shapes.py']
custom_imports = dict(imports=['mmdet_losses', 'mmdet_losses.models'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        loss_bbox=dict(
            type='mmdet_losses.GIoULoss',
            _delete_=True,
            loss_weight=1.0),
        type='mmdet_losses.QualityFCOSHead',
        loss_centerness=None,
        centerness_on_reg=False,
        loss_cls=dict(
            type='mmdet_losses.VarifocalLoss',
            use_sigmoid=True,
            alpha=0.75,
            gamma=2.0,
            iou_weighted=True,
            loss_weight=1.0,
            _delete_=True)))
randomness = dict(seed=1)
