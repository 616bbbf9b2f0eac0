"""minifcn: FCN and SegNet from scratch on NumPy / CuPy.

>>> import minifcn
>>> minifcn.Tensor([1.0, 2.0]).shape
(2,)
"""
import os as _os
import sys as _sys

# After each product on several threads, OpenBLAS's idle workers spin for about 2**28 cycles
# (~0.1 s) before they sleep, and on a 2-core machine that takes a core from what minifcn runs
# next on its own threads (the shifted and Winograd products, ReLU, batch norm): 512 -> 512 at
# 45x60 after an im2col layer took 118-141 ms instead of 76. OpenBLAS reads
# OPENBLAS_THREAD_TIMEOUT (log2 of the cycles, 4..30) when NumPy loads it, so it is set here,
# before NumPy, unless the user chose a value (``kernels.threads.SPIN_LOG2_CYCLES``) ...
_user_spin = "OPENBLAS_THREAD_TIMEOUT" in _os.environ
_numpy_first = "numpy" in _sys.modules
if not _user_spin:
    _os.environ["OPENBLAS_THREAD_TIMEOUT"] = "4"

from . import functional, init, nn, optim
from .autograd import Function, Tensor, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .indexing import (argsort, gather, index_select, nonzero, scatter, scatter_add, sort, topk,
                       unique, unique_consecutive)
from .ops import allclose, cat, einsum, equal, maximum, minimum, stack, where
from .ops import (argmax, argmin, ceil, cumprod, cumsum, flip, floor, logsumexp, masked_fill,
                  prod, roll, round, sign)
from .backend import default_device, gpu_available, manual_seed
from .checkpoint import load, save
from .creation import arange, from_numpy, full, ones, ones_like, tensor, zeros, zeros_like
from .creation import as_tensor, empty, empty_like, eye, full_like, linspace, logspace, meshgrid
from .sampling import (bernoulli, multinomial, normal, rand, rand_like, randint, randint_like, randn,
                       randn_like, randperm)
from .functions import (abs, amax, amin, broadcast_tensors, broadcast_to, chunk, clamp, concat,
                        concatenate, enable_grad, exp, flatten, hstack, is_tensor, isclose, log, max,
                        mean, min, norm, numel, permute, relu, reshape, sigmoid, split, sqrt, squeeze,
                        std, sum, tanh, tensor_split, transpose, unbind, unsqueeze, var, vstack)
from .ops_math import (acos, acosh, add, addcdiv, addcmul, asin, asinh, atan, atan2, atanh,
                       clamp_max, clamp_min, cos, cosh, div, erf, erfc, erfinv, exp2, expm1,
                       floor_divide, fmod, hypot, isfinite, isinf, isnan, lerp, log10, log1p, log2,
                       logaddexp, logit, mul, nan_to_num, neg, negative, pow, reciprocal, remainder,
                       rsqrt, sin, sinh, square, sub, tan, true_divide, xlogy)
from .ops_shape import (bmm, cdist, cross, diag, diagonal, diff, dot, kron, matmul, mm, movedim, moveaxis,
                        narrow, outer, repeat_interleave, select, swapaxes, swapdims, t, tensordot,
                        tile, trace, tril, triu, unflatten)
from .ops_stats import (aminmax, bincount, bucketize, count_nonzero, cummax, cummin, histc,
                        index_add, index_copy, index_fill, kthvalue, masked_scatter, masked_select,
                        median, mode, nanmean, nanmedian, nanquantile, nansum, quantile,
                        searchsorted, std_mean, take, var_mean)
from .losses_more import cosine_similarity, pairwise_distance, pdist
from . import models

# ... and when NumPy came first (``import numpy as np`` above ``import minifcn``, as most
# programs start), OpenBLAS is told again: its workers restarted with the short spin.
if _numpy_first and not _user_spin:
    from .kernels.threads import set_blas_spin as _set_blas_spin
    _set_blas_spin(int(_os.environ["OPENBLAS_THREAD_TIMEOUT"]))

# OpenBLAS runs its AVX-512 kernels ("SkylakeX") on AMD's Zen 4, which executes each 512-bit
# operation as two 256-bit halves. Its AVX2 kernels ("Haswell") reach the same peak there and
# run shallow products far faster: VGG's conv1_1 at 224, forward and weight gradient, took 4.2
# ms against 7.1-8.5; the other layers and whole training steps the same or a little faster
# (benchmarks/README.md). So OpenBLAS, loaded by NumPy above, picks its kernels again, unless
# the user chose them, or it is a version whose AVX2 kernels crash on Zen 4
# (``kernels.threads.AVX2_KERNELS_BEFORE``: which is why this waits until OpenBLAS is loaded
# and says its version, rather than set the variable before NumPy loads it).
from ._cpu import is_zen4 as _is_zen4
from .kernels import threads as _threads
if _threads.wants_avx2_kernels(_is_zen4(), _threads.blas_version(), "OPENBLAS_CORETYPE" in _os.environ):
    _threads.set_blas_kernels("Haswell")

__version__ = "0.1.0"
