"""The networks: VGG16, FCN-32s/16s/8s, SegNet, SegNet-Basic, Bayesian SegNet.

Every model takes ``num_classes`` and a ``width`` multiplier (1.0 = the paper's channels), and
maps x (n, 3, h, w) to class scores (n, num_classes, h, w) (VGG16: to (n, num_classes);
FullyConvVGG16, its fully convolutional form: to (n, num_classes, out_h, out_w), one score
per 224x224 window, the windows 32 pixels apart).

>>> net = build_model("fcn8s-atonce", num_classes=5, width=1 / 64)
>>> type(net).__name__, net.at_once
('FCN8s', True)
"""
from .fcn import FCN8s, FCN16s, FCN32s
from .segnet import BayesianSegNet, SegNet, SegNetBasic
from .vgg import VGG16, FullyConvVGG16

__all__ = ["VGG16", "FullyConvVGG16", "FCN32s", "FCN16s", "FCN8s", "SegNet", "SegNetBasic",
           "BayesianSegNet", "build_model", "MODEL_NAMES"]

_BUILDERS = {
    "fcn32s": lambda c, w, **kw: FCN32s(c, w, **kw),
    "fcn16s": lambda c, w, **kw: FCN16s(c, w, **kw),
    "fcn8s": lambda c, w, **kw: FCN8s(c, w, **kw),
    "fcn8s-atonce": lambda c, w, **kw: FCN8s(c, w, at_once=True, **kw),
    "segnet": lambda c, w, **kw: SegNet(c, width=w, **kw),
    "segnet-basic": lambda c, w, **kw: SegNetBasic(c, width=w, **kw),
    "bayesian-segnet": lambda c, w, **kw: BayesianSegNet(c, width=w, **kw),
}
#: The names :func:`build_model` (and the command line) accept.
MODEL_NAMES = tuple(_BUILDERS)


def build_model(name: str, num_classes: int, width: float = 1.0, **kw):
    """Build a segmentation model by name (the training CLI's ``--model``).

    Names: ``fcn32s``, ``fcn16s``, ``fcn8s``, ``fcn8s-atonce``, ``segnet``, ``segnet-basic``,
    ``bayesian-segnet``. Extra keywords go to the constructor (``learnable_upsampling`` for the
    FCNs, ``p`` for Bayesian SegNet, ``in_channels`` for the SegNets, ``lrn`` for SegNet-Basic).

    >>> build_model("segnet", 3, 1 / 32).num_classes
    3
    >>> build_model("unet", 3)
    Traceback (most recent call last):
    ...
    ValueError: build_model: unknown model 'unet'; expected one of fcn32s, fcn16s, fcn8s, fcn8s-atonce, segnet, segnet-basic, bayesian-segnet
    """
    if name not in _BUILDERS:
        raise ValueError(f"build_model: unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return _BUILDERS[name](num_classes, width, **kw)
