"""Evaluation protocols and the classical baselines they compare against.

* :mod:`~edgerestore.evaluation.denoise`: a denoiser (weights or exported file) on a
  folder of clean images with seeded noise, optionally beside (C)BM3D;
* :mod:`~edgerestore.evaluation.deblur`: plug-and-play deblurring (ADMM, HQS) against
  DMSP and the Wiener / BM3D baselines, and the speed claim;
* :mod:`~edgerestore.evaluation.baselines`: the classical methods (Wiener, unsupervised
  Wiener, BM3D deblurring, biharmonic inpainting, cubic-spline upscaling);
* :mod:`~edgerestore.evaluation.results`: result records, JSON output and plots.

It sits above the runtime and the models: ``edgerestore eval`` and the benchmark
scripts call it; nothing below imports it.
"""
