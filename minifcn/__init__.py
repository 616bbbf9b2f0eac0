"""minifcn: FCN and SegNet from scratch on NumPy / CuPy.

>>> import minifcn
>>> minifcn.Tensor([1.0, 2.0]).shape
(2,)
"""
from . import functional, init, nn, optim
from .autograd import Function, Tensor, no_grad, is_grad_enabled
from .backend import default_device, gpu_available, manual_seed
from . import models

__version__ = "0.1.0"
