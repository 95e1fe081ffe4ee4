"""Category losses, element-wise, in log space (the plain autograd references):
:mod:`.labels` (MMDetection's label conventions and their data checks),
:mod:`.conventions` (a loss applied with those conventions, fused or plain),
:mod:`.cross_entropy`, :mod:`.focal`, :mod:`.quality` (QFL, VFL), :mod:`.ghmc`."""
