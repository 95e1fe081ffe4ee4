# Runtime for the CPU shapes runs: MMDetection's defaults, iteration-based logging
# every 20 iterations, a checkpoint at the end (and every 500 iterations), gloo for
# multi-process CPU runs.
_base_ = 'mmdet::_base_/default_runtime.py'
custom_imports = dict(imports=['mmdet_losses'], allow_failed_imports=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=500, max_keep_ckpts=2))
log_processor = dict(type='LogProcessor', window_size=20, by_epoch=False)
# Stop at the first non-finite loss term, before the optimizer step (max_skips=K
# skips up to K such steps instead).
custom_hooks = [dict(type='mmdet_losses.NaNGuardHook', max_skips=0)]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
