"""mmdet_losses_lab: the lab around the losses of :mod:`mmdet_losses`.

* ``ablation``: the (category x location) loss grid on any MMDetection detector, its
  SLURM launcher, its run records and its statistical report;
* ``data``: the built-in datasets (the synthetic shapes, BCCD blood cells) and the
  Pascal VOC to COCO converter;
* ``training``: what ``tools/`` share (config loading and checks, the runner, CPU
  distributed runs, quiet warnings);
* ``visualize``: detections drawn with OpenCV.

The lab imports :mod:`mmdet_losses` by its public names; the library never imports the
lab (tests/test_package_layout.py).
"""
