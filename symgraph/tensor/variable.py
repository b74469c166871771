"""TensorVariable: Python operators and NumPy-like methods on symbolic tensors."""
from ..graph import Constant, Variable, user_frame
from ..late import late, tensor

# eval() compiles and repr() prints: both sit above the variables (see late.py)
_function = late("symgraph.compile.function")
_printing = late("symgraph.printing")


class TensorVariable(Variable):
    __array_priority__ = 1000  # so ndarray + var calls var.__radd__

    def __init__(self, type, owner=None, index=None, name=None):
        Variable.__init__(self, type, owner, index, name)
        if owner is None:
            self._trace = user_frame()

    # ------------------------------------------------------------- type info
    dtype = property(lambda self: self.type.dtype)
    ndim = property(lambda self: self.type.ndim)
    broadcastable = property(lambda self: self.type.broadcastable)

    @property
    def shape(self):
        return tensor.shape(self)

    @property
    def size(self):
        return tensor.prod_of_shape(self, tuple(range(self.ndim)))

    @property
    def T(self):
        return self.dimshuffle(*reversed(range(self.ndim)))

    def __len__(self):
        raise TypeError("symbolic tensors have no len(); use x.shape[0]")

    def __bool__(self):
        raise TypeError("a symbolic tensor has no truth value; use T.switch, T.and_, T.or_ "
                        "or the operators & | instead of 'if', 'and', 'or'")

    __hash__ = Variable.__hash__

    # ------------------------------------------------------------- operators
    def __add__(self, o): return tensor.add(self, o)
    def __radd__(self, o): return tensor.add(o, self)
    def __sub__(self, o): return tensor.sub(self, o)
    def __rsub__(self, o): return tensor.sub(o, self)
    def __mul__(self, o): return tensor.mul(self, o)
    def __rmul__(self, o): return tensor.mul(o, self)
    def __truediv__(self, o): return tensor.true_div(self, o)
    def __rtruediv__(self, o): return tensor.true_div(o, self)
    def __floordiv__(self, o): return tensor.int_div(self, o)
    def __rfloordiv__(self, o): return tensor.int_div(o, self)
    def __mod__(self, o): return tensor.mod(self, o)
    def __rmod__(self, o): return tensor.mod(o, self)
    def __pow__(self, o): return tensor.pow(self, o)
    def __rpow__(self, o): return tensor.pow(o, self)
    def __neg__(self): return tensor.neg(self)
    def __pos__(self): return self
    def __abs__(self): return tensor.abs_(self)
    def __invert__(self): return tensor.invert(self)
    def __lt__(self, o): return tensor.lt(self, o)
    def __le__(self, o): return tensor.le(self, o)
    def __gt__(self, o): return tensor.gt(self, o)
    def __ge__(self, o): return tensor.ge(self, o)
    def __and__(self, o): return tensor.and_(self, o)
    def __rand__(self, o): return tensor.and_(o, self)
    def __or__(self, o): return tensor.or_(self, o)
    def __ror__(self, o): return tensor.or_(o, self)
    def __xor__(self, o): return tensor.xor(self, o)
    def __rxor__(self, o): return tensor.xor(o, self)
    def __matmul__(self, o): return tensor.dot(self, o)
    def __rmatmul__(self, o): return tensor.dot(o, self)

    def __getitem__(self, index):
        return tensor.subtensor(self, index)

    def __iter__(self):
        raise TypeError("symbolic tensors cannot be iterated; index them instead")

    # ------------------------------------------------------------- methods
    def sum(self, axis=None, keepdims=False, dtype=None):
        return tensor.sum(self, axis=axis, keepdims=keepdims, dtype=dtype)

    def mean(self, axis=None, keepdims=False):
        return tensor.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return tensor.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return tensor.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return tensor.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return tensor.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return tensor.argmin(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return tensor.var(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return tensor.std(self, axis=axis, keepdims=keepdims, ddof=ddof)

    def all(self, axis=None, keepdims=False):
        return tensor.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return tensor.any(self, axis=axis, keepdims=keepdims)

    def dimshuffle(self, *pattern):
        return tensor.dimshuffle(self, *pattern)

    def transpose(self, *axes):
        return tensor.transpose(self, axes or None)

    def reshape(self, shape, ndim=None):
        return tensor.reshape(self, shape, ndim=ndim)

    def flatten(self, ndim=1):
        return tensor.flatten(self, ndim)

    def astype(self, dtype):
        return tensor.cast(self, dtype)

    def clip(self, lo, hi):
        return tensor.clip(self, lo, hi)

    def dot(self, other):
        return tensor.dot(self, other)

    def nonzero_values(self):
        return self.flatten()[self.flatten() != 0]

    def eval(self, givens=None):
        """Compute this variable with the reference backend, inputs from ``givens``."""
        givens = dict(givens or {})
        fn = _function.function(list(givens), self, mode="python", on_unused_input="ignore")
        return fn(*givens.values())

    # Jupyter shows the graph
    def _repr_svg_(self):
        return _printing._repr_svg(self)

    def __repr__(self):
        if self.name:
            return self.name
        try:
            return _printing.pp(self)
        except Exception:
            return super().__repr__()


class TensorConstant(TensorVariable, Constant):
    def __init__(self, type, data, name=None):
        TensorVariable.__init__(self, type, name=name)
        self.data = data
        self.data.setflags(write=False)

    __repr__ = Constant.__repr__
    __hash__ = Variable.__hash__
