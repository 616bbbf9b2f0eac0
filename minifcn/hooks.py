"""Backward hooks on modules (PyTorch's ``register_full_backward_hook`` and
``register_full_backward_pre_hook``): what a layer receives and sends in the backward pass.

A module is many functions of the graph, so no single node holds "the gradient of its input".
PyTorch's answer, taken here: one identity function on the module's inputs and one on its
outputs, made at each call. The graph runs the outputs' identity first, which hands over
``grad_output`` (the gradients reaching the module's outputs: the pre-hooks see them, and may
replace them); then, once the gradients have gone through the module, the inputs' identity
receives ``grad_input`` (the gradients of the module's positional Tensor arguments), which the
hooks see and may replace.

>>> import numpy as np
>>> from minifcn import Tensor, nn
>>> layer = nn.Conv2d(1, 1, 3, padding=1)
>>> seen = []
>>> _ = layer.register_full_backward_hook(
...     lambda m, grad_input, grad_output: seen.append((grad_input[0].shape, grad_output[0].shape)))
>>> x = Tensor(np.ones((1, 1, 4, 4), np.float32), requires_grad=True)
>>> layer(x).sum().backward()
>>> seen
[((1, 1, 4, 4), (1, 1, 4, 4))]
"""
from __future__ import annotations

from .autograd import Function, Tensor, is_grad_enabled
from .backend import get_array_module


class _Identity(Function):
    """``x -> x`` for several tensors at once; its backward hands the gradients to ``on_backward``,
    which returns the ones to send on."""

    def __init__(self, on_backward):
        self.on_backward = on_backward

    def forward(self, *xs):
        return xs

    def backward(self, *gys):
        return tuple(self.on_backward(gys))


def _check(what, new, old):
    """A hook's replacement for ``old``: as many entries, each None or of the same shape."""
    if not isinstance(new, (tuple, list)) or len(new) != len(old):
        raise RuntimeError(f"a backward hook returned {type(new).__name__} for {what}; expected a "
                           f"tuple of {len(old)} gradients (or None for no change)")
    new = [g.data if isinstance(g, Tensor) else g for g in new]
    for g, o in zip(new, old):
        if g is not None and o is not None and g.shape != o.shape:
            raise RuntimeError(f"a backward hook returned a gradient of shape {g.shape} for "
                               f"{what}, expected {o.shape}")
    return new


def _like(t):
    """What zeros in place of ``t``'s gradient need (not its array: that may be freed early)."""
    return get_array_module(t.data), t.shape, t.dtype


def _zeros_if_none(g, like):
    xp, shape, dtype = like
    return xp.zeros(shape, dtype) if g is None else g


class BackwardHookCall:
    """The backward hooks of one call of ``module``: :meth:`wrap_inputs` before its forward,
    :meth:`wrap_outputs` after it."""

    def __init__(self, module):
        self.module = module
        # the hooks there are at this call, as PyTorch's: one removed before the backward
        # still runs for it, one added after does not
        self.pre_hooks = list((module._backward_pre_hooks or {}).values())
        self.hooks = list((module._backward_hooks or {}).values())
        self.grad_output = None
        self.tensor_args = 0      # how many positional arguments are Tensors (grad_input's length)
        self.live = []            # which of those require grad: the ones the identity carries
        self.inputs_wrapped = False
        self.outputs = []         # which outputs are Tensors (grad_output's entries)
        self.out_live = []        # which of those require grad: the ones the identity carries

    def wrap_inputs(self, args):
        where = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.tensor_args = len(where)
        self.live = [k for k, i in enumerate(where) if args[i].requires_grad]
        if not self.live or not is_grad_enabled():
            return args
        self.in_like = [_like(args[where[k]]) for k in self.live]   # for zeros where no gradient came
        outs = _Identity(self._inputs_backward)(*[args[where[k]] for k in self.live])
        args = list(args)
        for k, o in zip(self.live, outs):
            args[where[k]] = o
        self.inputs_wrapped = True
        return tuple(args)

    def wrap_outputs(self, y):
        ys = (y,) if isinstance(y, Tensor) else y
        if not isinstance(ys, (tuple, list)):
            return y
        self.outputs = [k for k, t in enumerate(ys) if isinstance(t, Tensor)]
        self.out_live = [k for k in self.outputs if ys[k].requires_grad]
        if not self.out_live or not is_grad_enabled():
            return y
        outs = _Identity(self._outputs_backward)(*[ys[k] for k in self.out_live])
        ys = list(ys)
        for k, o in zip(self.out_live, outs):
            ys[k] = o
        if isinstance(y, Tensor):
            return ys[0]
        return type(y)(*ys) if hasattr(y, "_fields") else type(y)(ys)   # a named tuple: by field

    def _outputs_backward(self, gys):
        given = dict(zip(self.out_live, gys))   # None for an output the loss did not reach, as PyTorch
        grad_output = [given.get(k) for k in self.outputs]
        for hook in self.pre_hooks:
            new = hook(self.module, tuple(grad_output))
            if new is not None:
                grad_output = _check("grad_output", new, grad_output)
        self.grad_output = tuple(grad_output)
        if not self.inputs_wrapped:   # no input needs a gradient: the hooks are called here
            for hook in self.hooks:
                if hook(self.module, (None,) * self.tensor_args, self.grad_output) is not None:
                    raise RuntimeError("a backward hook returned grad_input for a module none of "
                                       "whose inputs requires grad: return None")
        position = {k: i for i, k in enumerate(self.outputs)}
        return [grad_output[position[k]] for k in self.out_live]

    def _inputs_backward(self, gxs):
        if self.grad_output is None:   # outputs the hooks cannot name (a dict): skipped, as PyTorch
            return gxs
        grad_input = [None] * self.tensor_args
        for k, g, like in zip(self.live, gxs, self.in_like):   # zeros where none came, as PyTorch
            grad_input[k] = _zeros_if_none(g, like)
        for hook in self.hooks:
            new = hook(self.module, tuple(grad_input), self.grad_output)
            if new is not None:
                grad_input = _check("grad_input", new, grad_input)
        return [grad_input[k] for k in self.live]
