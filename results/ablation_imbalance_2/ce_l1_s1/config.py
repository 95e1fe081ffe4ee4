_base_ = ['/work/main/configs/shapes/retinanet_r18_fpn_1xb4-1000i_shapes-imb2.py']
custom_imports = dict(imports=['mmdet_losses', 'mmdet_losses.utils.init'], allow_failed_imports=False)
model = dict(
    bbox_head=dict(
        reg_decoded_bbox=False,
        loss_bbox=dict(
            type='mmdet_losses.L1Loss',
            _delete_=True,
            loss_weight=1.0),
        init_cfg=[
            dict(
                type='Normal',
                layer='Conv2d',
                std=0.01),
            dict(
                type='mmdet_losses.SoftmaxPriorInit',
                prior_prob=0.01)],
        loss_cls=dict(
            type='mmdet_losses.CrossEntropyLoss',
            use_sigmoid=False,
            loss_weight=1.0,
            _delete_=True)))
randomness = dict(seed=1)
