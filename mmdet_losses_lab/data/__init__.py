"""Built-in datasets. ``mmdet_losses_lab.data.shapes`` writes the CPU shapes dataset
and its presets (``python -m mmdet_losses_lab.data.shapes``);
``mmdet_losses_lab.data.imbalance`` counts the anchors per object a config's detector
sees on it. Neither is imported here, so that ``-m`` runs them cleanly."""
