"""Array kernels: plain functions from xp arrays to xp arrays, no autograd.

:mod:`minifcn.functional` wraps them into differentiable Functions. Keeping the two apart means
each backward pass is visibly made of other forward kernels: the input gradient of convolution
is a transposed convolution, the gradient of max pooling is an unpooling scatter, and so on.
"""
