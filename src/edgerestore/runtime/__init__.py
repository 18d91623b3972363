"""What goes on a device: numpy plus an inference backend, never torch.

Importing this package must work on an install with only numpy, Pillow and
onnxruntime; a test runs it in a process where ``import torch`` raises.
"""

from edgerestore.runtime.image_io import ImageInfo, read_image, write_image
from edgerestore.runtime.metrics import psnr, quantize8, ssim
from edgerestore.runtime.noise import NoiseSpec

__all__ = ["ImageInfo", "NoiseSpec", "psnr", "quantize8", "read_image", "ssim", "write_image"]
