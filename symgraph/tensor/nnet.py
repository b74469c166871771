"""T.nnet: activations, softmax and the cross-entropies."""
from ..ops import elemwise as ew
from ..ops.nnet import LogSoftmax, Softmax
from .basic import arange, as_tensor_variable, expm1, gt, log, maximum, shape_i, switch
from .reductions import mean, sum

sigmoid = ew.Sigmoid()
softplus = ew.Softplus()


def relu(x, alpha=0):
    """max(x, 0) elementwise; with ``alpha``, the leaky form max(x, alpha * x)."""
    x = as_tensor_variable(x)
    if alpha == 0:
        return maximum(x, 0)
    return maximum(x, alpha * x)


def softmax(x):
    """Softmax along the last axis: row-wise on a matrix."""
    return Softmax()(as_tensor_variable(x))


def log_softmax(x):
    """log(softmax(x)) along the last axis, computed stably (x minus its
    log-sum-exp)."""
    return LogSoftmax()(as_tensor_variable(x))


# Theano 1.0 spells it without the underscore
logsoftmax = log_softmax


def elu(x, alpha=1.0):
    """The exponential linear unit: x where x > 0, else alpha * (exp(x) - 1)."""
    x = as_tensor_variable(x)
    return switch(gt(x, 0), x, alpha * expm1(x))


def categorical_crossentropy(coding_dist, true_dist):
    """-log of the probability of the true class, per row.

    ``true_dist`` is either one-hot rows (same shape as ``coding_dist``) or a
    vector of integer class indices.
    """
    p, t = as_tensor_variable(coding_dist), as_tensor_variable(true_dist)
    if t.ndim == p.ndim:
        return -sum(t * log(p), axis=p.ndim - 1)
    if t.ndim == p.ndim - 1 and t.dtype.startswith(("int", "uint")):
        return -log(p[arange(shape_i(p, 0)), t])
    raise TypeError(f"categorical_crossentropy: targets must be one-hot ({p.ndim}-d) or "
                    f"integer class indices ({p.ndim - 1}-d), got {t.ndim}-d {t.dtype}")


def binary_crossentropy(output, target):
    """-(target * log(output) + (1 - target) * log(1 - output)),
    elementwise; ``output`` holds probabilities in (0, 1)."""
    output, target = as_tensor_variable(output), as_tensor_variable(target)
    return -(target * log(output) + (1 - target) * log(1 - output))


crossentropy_categorical_1hot = categorical_crossentropy
__all__ = ["sigmoid", "softplus", "relu", "elu", "softmax", "log_softmax", "logsoftmax",
           "categorical_crossentropy", "binary_crossentropy", "mean"]
