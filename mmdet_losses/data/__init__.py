"""Built-in datasets. ``mmdet_losses.data.shapes`` writes the CPU shapes dataset
and its presets (``python -m mmdet_losses.data.shapes``);
``mmdet_losses.data.imbalance`` counts the anchors per object a config's detector
sees on it. Neither is imported here, so that ``-m`` runs them cleanly."""
