"""The distance modules and the losses of :mod:`minifcn.losses_more` as modules, PyTorch's
``nn.CosineSimilarity`` to ``nn.TripletMarginLoss``.

Each checks its arguments when built (not at the first batch) and calls its function; the
arguments, their order and the defaults are PyTorch's (the reprs list the settings, as this
library's other losses do; PyTorch's show none). Where PyTorch's next
positional argument would be its old ``size_average``, the rest are keyword-only, as this
library's other losses.

>>> import numpy as np
>>> from minifcn import nn
>>> criterion = nn.TripletMarginLoss(margin=0.5)
>>> criterion
TripletMarginLoss(margin=0.5, p=2.0, eps=1e-06, swap=False, reduction='mean')
>>> criterion(np.zeros((2, 3)), np.zeros((2, 3)), np.ones((2, 3))).item()   # max(0, 0.5 + 0 - ~sqrt(3))
0.0
"""
from __future__ import annotations

from . import functional as F
from .losses_more import _check_p, _real
from .module import Module
from .nn import _elementwise_weight

__all__ = ["CosineSimilarity", "PairwiseDistance", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
           "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MarginRankingLoss", "HingeEmbeddingLoss",
           "CosineEmbeddingLoss", "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginLoss"]


class CosineSimilarity(Module):
    """:func:`F.cosine_similarity <minifcn.functional.cosine_similarity>` along ``dim``.

    >>> import numpy as np
    >>> CosineSimilarity(dim=0)(np.array([1.0, 0.0]), np.array([0.0, 2.0])).item()
    0.0
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, F.check_nonnegative("CosineSimilarity", "eps", eps)

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"


class PairwiseDistance(Module):
    """:func:`F.pairwise_distance <minifcn.functional.pairwise_distance>`: the p-norm of
    ``x1 - x2 + eps`` along the last axis.

    >>> import numpy as np
    >>> PairwiseDistance(eps=0.0)(np.array([[3.0, 4.0]]), np.zeros((1, 2))).numpy()
    array([5.])
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm = _check_p("PairwiseDistance", p, negative=True)   # PyTorch's attribute names
        self.eps, self.keepdim = _real("PairwiseDistance", "eps", eps), F._flag("PairwiseDistance", "keepdim", keepdim)

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def extra_repr(self):
        return f"p={self.norm}, eps={self.eps}, keepdim={self.keepdim}"


class _Loss(Module):
    """A loss module's ``reduction``, checked when built."""

    def __init__(self, reduction, allowed=None):
        super().__init__()
        if allowed is None:
            F.check_reduction(type(self).__name__, reduction)
        elif reduction not in allowed:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {allowed}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class KLDivLoss(_Loss):
    """:func:`F.kl_div <minifcn.functional.kl_div>`: input log-probabilities, target
    probabilities (log-probabilities with ``log_target``); ``reduction="batchmean"`` is the
    divergence per sample.

    >>> import numpy as np
    >>> KLDivLoss(reduction="batchmean")(np.log(np.array([[0.5, 0.5]])), np.array([[0.5, 0.5]])).item()
    0.0
    """

    # keyword-only: PyTorch's first two arguments are size_average and reduce
    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__(reduction, ("mean", "batchmean", "sum", "none"))
        self.log_target = F._flag("KLDivLoss", "log_target", log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, log_target={self.log_target}"


class PoissonNLLLoss(_Loss):
    """:func:`F.poisson_nll_loss <minifcn.functional.poisson_nll_loss>`.

    >>> import numpy as np
    >>> PoissonNLLLoss()(np.zeros(2), np.zeros(2)).item()   # exp(0) - 0
    1.0
    """

    # keyword-only after full: PyTorch's third argument is size_average
    def __init__(self, log_input=True, full=False, *, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.log_input = F._flag("PoissonNLLLoss", "log_input", log_input)
        self.full = F._flag("PoissonNLLLoss", "full", full)
        self.eps = F.check_nonnegative("PoissonNLLLoss", "eps", eps)

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)

    def extra_repr(self):
        return f"log_input={self.log_input}, full={self.full}, eps={self.eps}, reduction={self.reduction!r}"


class GaussianNLLLoss(_Loss):
    """:func:`F.gaussian_nll_loss <minifcn.functional.gaussian_nll_loss>`: ``forward(input,
    target, var)``.

    >>> import numpy as np
    >>> GaussianNLLLoss()(np.zeros(2), np.ones(2), np.ones(2)).item()   # (0 + 1) / 2
    0.5
    """

    # keyword-only, as PyTorch's
    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full = F._flag("GaussianNLLLoss", "full", full)
        self.eps = F.check_nonnegative("GaussianNLLLoss", "eps", eps)

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)

    def extra_repr(self):
        return f"full={self.full}, eps={self.eps}, reduction={self.reduction!r}"


class SoftMarginLoss(_Loss):
    """:func:`F.soft_margin_loss <minifcn.functional.soft_margin_loss>`.

    >>> import numpy as np
    >>> round(SoftMarginLoss()(np.zeros(2), np.ones(2)).item(), 4)   # ln 2
    0.6931
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """:func:`F.multilabel_soft_margin_loss <minifcn.functional.multilabel_soft_margin_loss>`;
    its ``weight`` (C,) is a buffer, as PyTorch's.

    >>> import numpy as np
    >>> round(MultiLabelSoftMarginLoss()(np.zeros((1, 3)), np.ones((1, 3))).item(), 4)   # ln 2
    0.6931
    """

    # keyword-only after weight: PyTorch's second argument is size_average
    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _elementwise_weight("MultiLabelSoftMarginLoss", "weight", weight))

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """:func:`F.margin_ranking_loss <minifcn.functional.margin_ranking_loss>`:
    ``forward(input1, input2, target)``.

    >>> import numpy as np
    >>> MarginRankingLoss(margin=0.5)(np.array([1.0]), np.array([1.0]), np.array([1.0])).item()
    0.5
    """

    # keyword-only after margin: PyTorch's second argument is size_average
    def __init__(self, margin=0.0, *, reduction="mean"):
        super().__init__(reduction)
        self.margin = _real("MarginRankingLoss", "margin", margin)

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class HingeEmbeddingLoss(_Loss):
    """:func:`F.hinge_embedding_loss <minifcn.functional.hinge_embedding_loss>`.

    >>> import numpy as np
    >>> HingeEmbeddingLoss()(np.array([0.25]), np.array([-1.0])).item()   # 1 - 0.25
    0.75
    """

    # keyword-only after margin: PyTorch's second argument is size_average
    def __init__(self, margin=1.0, *, reduction="mean"):
        super().__init__(reduction)
        self.margin = _real("HingeEmbeddingLoss", "margin", margin)

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class CosineEmbeddingLoss(_Loss):
    """:func:`F.cosine_embedding_loss <minifcn.functional.cosine_embedding_loss>`:
    ``forward(input1, input2, target)``.

    >>> import numpy as np
    >>> round(CosineEmbeddingLoss()(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([1.0])).item(), 4)
    1.0
    """

    # keyword-only after margin: PyTorch's second argument is size_average
    def __init__(self, margin=0.0, *, reduction="mean"):
        super().__init__(reduction)
        self.margin = _real("CosineEmbeddingLoss", "margin", margin)

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class MultiMarginLoss(_Loss):
    """:func:`F.multi_margin_loss <minifcn.functional.multi_margin_loss>`; its ``weight`` (C,)
    is a buffer, as PyTorch's.

    >>> import numpy as np
    >>> MultiMarginLoss()(np.array([[0.0, 1.0]]), np.array([1])).item()   # max(0, 1 - 1 + 0) / 2
    0.0
    """

    # keyword-only after weight: PyTorch's fourth argument is size_average
    def __init__(self, p=1, margin=1.0, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p, self.margin = int(p), _real("MultiMarginLoss", "margin", margin)
        w = _elementwise_weight("MultiMarginLoss", "weight", weight)
        if w is not None and w.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be 1-D, one a class, got shape {tuple(w.shape)}")
        self.register_buffer("weight", w)

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)

    def extra_repr(self):
        return f"p={self.p}, margin={self.margin}, reduction={self.reduction!r}"


class MultiLabelMarginLoss(_Loss):
    """:func:`F.multilabel_margin_loss <minifcn.functional.multilabel_margin_loss>`.

    >>> import numpy as np
    >>> MultiLabelMarginLoss()(np.array([[2.0, 0.0]]), np.array([[0, -1]])).item()   # max(0, 1 - 2) / 2
    0.0
    """

    # keyword-only: PyTorch's first argument is size_average
    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """:func:`F.triplet_margin_loss <minifcn.functional.triplet_margin_loss>`:
    ``forward(anchor, positive, negative)``."""

    # keyword-only after swap: PyTorch's fifth argument is size_average
    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, *, reduction="mean"):
        super().__init__(reduction)
        self.margin = _real("TripletMarginLoss", "margin", margin)
        if not self.margin > 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.p = _check_p("TripletMarginLoss", p, negative=True)
        self.eps = _real("TripletMarginLoss", "eps", eps)
        self.swap = F._flag("TripletMarginLoss", "swap", swap)

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, p={self.p}, eps={self.eps}, swap={self.swap}, reduction={self.reduction!r}"
