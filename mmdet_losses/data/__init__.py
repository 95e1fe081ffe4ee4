"""Built-in datasets. ``mmdet_losses.data.shapes`` writes the CPU shapes dataset
(``python -m mmdet_losses.data.shapes``); it is not imported here so that ``-m`` runs
it cleanly."""
