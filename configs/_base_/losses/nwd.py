# Normalized Gaussian Wasserstein distance (Wang et al., arXiv:2110.13389) for
# tiny objects; constant=12.8 px is the paper's value (AI-TOD mean object size).
nwd_loss = dict(type='mmdet_losses.NWDLoss', constant=12.8)
