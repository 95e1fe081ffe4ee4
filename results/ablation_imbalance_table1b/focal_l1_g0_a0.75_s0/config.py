_base_ = ['/work/main/configs/shapes/retinanet_r18_fpn_1xb4-1000i_shapes-imb4.py']
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        reg_decoded_bbox=False,
        loss_bbox=dict(
            type='mmdet_losses.L1Loss',
            _delete_=True,
            loss_weight=1.0),
        loss_cls=dict(
            type='mmdet_losses.FocalLoss',
            use_sigmoid=True,
            gamma=0.0,
            alpha=0.75,
            loss_weight=1.0,
            _delete_=True)))
randomness = dict(seed=0)
