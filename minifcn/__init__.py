"""minifcn: FCN and SegNet from scratch on NumPy / CuPy.

>>> import minifcn
>>> minifcn.Tensor([1.0, 2.0]).shape
(2,)
"""
from .autograd import Tensor, Function, no_grad, is_grad_enabled
from .backend import gpu_available, default_device

__version__ = "0.1.0"
