"""What CuPy has of NumPy's API, read from CuPy itself: the data behind the stand-in's
strictness (tests/fakecupy.py). Not hand-written: regenerate it when CuPy's versions move.

Read from the wheels of CuPy 13.6.0 and 14.2.0 (``pip install --target DIR cupy-cuda12x==V
fastrlock cuda-pathfinder``: importing CuPy needs no GPU) and kept where both agree, so that
code passing here runs on either:

- ``NAMES``: per namespace (``""`` is ``cupy`` itself), the public names that NumPy's module
  of that name has and both CuPy versions have too (``dir`` of each); a name missing here is
  one that CuPy lacks (``errstate``, ``frompyfunc``, ``geomspace``, ``insert``,
  ``nanquantile``; ``bool``, ``put_along_axis``, ``unique_values`` came with CuPy 14).
- ``SIGNATURES``: the functions whose CuPy signature lacks a parameter NumPy's has
  (``inspect.signature`` of each; ``*name`` takes any number of positional arguments), with
  CuPy's parameters: ``take`` has no ``mode``, ``sum`` no ``where``/``initial``, ``clip`` no
  ``min=``/``max=`` keywords, ``sort`` no ``stable``, ``unique`` no ``sorted``, ...
- ``NDARRAY``: the public attributes of ``cupy.ndarray``; ``NDARRAY_SIGNATURES``: its methods'
  parameters, from their Cython signatures (first docstring line): ``item()`` takes no index,
  ``take`` no ``mode``, ``sort`` and ``argsort`` no ``kind`` in 13, ``max`` no ``initial``.

The script: for each namespace, ``[n for n in dir(cupy_ns) if hasattr(numpy_ns, n)]``, and for
each callable ``inspect.signature`` (or the ``__doc__``'s first line for a Cython method);
the intersection over both versions is kept.
"""
NAMES = {
    '': """
    abs absolute add all allclose amax amin angle any append apply_along_axis arange arccos
    arccosh arcsin arcsinh arctan arctan2 arctanh argmax argmin argpartition argsort argwhere
    around array array2string array_equal array_equiv array_repr array_split array_str
    asanyarray asarray asarray_chkfinite ascontiguousarray asfortranarray atleast_1d atleast_2d
    atleast_3d average bartlett base_repr binary_repr bincount bitwise_and bitwise_not
    bitwise_or bitwise_xor blackman bool_ broadcast broadcast_arrays broadcast_shapes
    broadcast_to byte c_ can_cast cbrt cdouble ceil choose clip column_stack common_type
    complex128 complex64 complexfloating compress concatenate conj conjugate convolve copy
    copysign copyto corrcoef correlate cos cosh count_nonzero cov cross csingle cumprod cumsum
    deg2rad degrees delete diag diag_indices diag_indices_from diagflat diagonal diff digitize
    divide divmod dot double dsplit dstack dtype e ediff1d einsum empty empty_like equal
    euler_gamma exceptions exp exp2 expand_dims expm1 extract eye fabs fft fill_diagonal finfo
    fix flatiter flatnonzero flip fliplr flipud float16 float32 float64 float_power floating
    floor floor_divide fmax fmin fmod format_float_positional format_float_scientific frexp
    from_dlpack frombuffer fromfile fromfunction fromiter fromstring full full_like gcd generic
    genfromtxt get_printoptions gradient greater greater_equal half hamming hanning heaviside
    histogram histogram2d histogramdd hsplit hstack hypot i0 identity iinfo imag index_exp
    indices inexact inf inner int16 int32 int64 int8 int_ intc integer interp intersect1d intp
    invert isclose iscomplex iscomplexobj isfinite isfortran isin isinf isnan isneginf isposinf
    isreal isrealobj isscalar issubdtype iterable ix_ kaiser kron lcm ldexp left_shift less
    less_equal lexsort lib linalg linspace load loadtxt log log10 log1p log2 logaddexp
    logaddexp2 logical_and logical_not logical_or logical_xor logspace longlong mask_indices
    matmul max maximum may_share_memory mean median meshgrid mgrid min min_scalar_type minimum
    mintypecode mod modf moveaxis multiply nan nan_to_num nanargmax nanargmin nancumprod
    nancumsum nanmax nanmean nanmedian nanmin nanprod nanstd nansum nanvar ndarray ndim ndindex
    negative newaxis nextafter nonzero not_equal number ogrid ones ones_like outer packbits pad
    partition percentile pi piecewise place poly poly1d polyadd polyfit polymul polynomial
    polysub polyval positive power printoptions prod promote_types ptp put putmask quantile r_
    rad2deg radians random ravel ravel_multi_index real real_if_close reciprocal remainder
    repeat require reshape resize result_type right_shift rint roll rollaxis roots rot90 round
    row_stack s_ save savetxt savez savez_compressed searchsorted select set_printoptions
    setdiff1d setxor1d shape shares_memory short show_config sign signbit signedinteger sin sinc
    single sinh size sort sort_complex split sqrt square squeeze stack std subtract sum swapaxes
    take take_along_axis tan tanh tensordot testing tile trace transpose tri tril tril_indices
    tril_indices_from trim_zeros triu triu_indices triu_indices_from true_divide trunc typename
    typing ubyte ufunc uint uint16 uint32 uint64 uint8 uintc uintp ulonglong union1d unique
    unpackbits unravel_index unsignedinteger unwrap ushort vander var vdot vectorize vsplit
    vstack where zeros zeros_like
    """.split(),
    'random': """
    BitGenerator RandomState beta binomial bytes chisquare choice default_rng dirichlet
    exponential f gamma geometric gumbel hypergeometric laplace logistic lognormal logseries
    multinomial multivariate_normal negative_binomial noncentral_chisquare noncentral_f normal
    pareto permutation poisson power rand randint randn random random_integers random_sample
    ranf rayleigh sample seed shuffle standard_cauchy standard_exponential standard_gamma
    standard_normal standard_t triangular uniform vonmises wald weibull zipf
    """.split(),
    'linalg': """
    LinAlgError cholesky det eigh eigvalsh inv lstsq matrix_power matrix_rank norm pinv qr
    slogdet solve svd tensorinv tensorsolve
    """.split(),
    'fft': """
    fft fft2 fftfreq fftn fftshift hfft ifft ifft2 ifftn ifftshift ihfft irfft irfft2 irfftn
    rfft rfft2 rfftfreq rfftn
    """.split(),
    'lib': """
    stride_tricks
    """.split(),
    'lib.stride_tricks': """
    as_strided sliding_window_view
    """.split(),
    'testing': """
    assert_allclose assert_array_almost_equal assert_array_almost_equal_nulp assert_array_equal
    assert_array_less assert_array_max_ulp assert_warns
    """.split(),
}

SIGNATURES = {
    'all': 'a axis out keepdims',
    'amax': 'a axis out keepdims',
    'amin': 'a axis out keepdims',
    'any': 'a axis out keepdims',
    'arange': 'start stop step dtype',
    'argpartition': 'a kth axis',
    'argsort': 'a axis kind',
    'array': 'obj dtype copy order subok ndmin blocking',
    'array_str': 'arr max_line_width precision suppress_small',
    'asanyarray': 'a dtype order blocking',
    'asarray': 'a dtype order blocking',
    'ascontiguousarray': 'a dtype',
    'asfortranarray': 'a dtype',
    'broadcast_arrays': '*args',
    'broadcast_to': 'array shape',
    'clip': 'a a_min a_max out',
    'concatenate': 'tup axis out dtype casting',
    'copy': 'a order',
    'corrcoef': 'a y rowvar bias ddof dtype',
    'count_nonzero': 'a axis',
    'cov': 'a y rowvar bias ddof fweights aweights dtype',
    'delete': 'arr indices axis',
    'ediff1d': 'arr to_end to_begin',
    'empty': 'shape dtype order',
    'empty_like': 'prototype dtype order subok shape',
    'extract': 'condition a',
    'eye': 'N M k dtype order',
    'fft.fft': 'a n axis norm',
    'fft.fft2': 'a s axes norm',
    'fft.fftfreq': 'n d',
    'fft.fftn': 'a s axes norm',
    'fft.hfft': 'a n axis norm',
    'fft.ifft': 'a n axis norm',
    'fft.ifft2': 'a s axes norm',
    'fft.ifftn': 'a s axes norm',
    'fft.ihfft': 'a n axis norm',
    'fft.irfft': 'a n axis norm',
    'fft.irfft2': 'a s axes norm',
    'fft.irfftn': 'a s axes norm',
    'fft.rfft': 'a n axis norm',
    'fft.rfft2': 'a s axes norm',
    'fft.rfftfreq': 'n d',
    'fft.rfftn': 'a s axes norm',
    'flip': 'a axis',
    'fliplr': 'a',
    'flipud': 'a',
    'full': 'shape fill_value dtype order',
    'full_like': 'a fill_value dtype order subok shape',
    'histogram': 'x bins range weights density',
    'identity': 'n dtype',
    'indices': 'dimensions dtype',
    'intersect1d': 'arr1 arr2 assume_unique return_indices',
    'isin': 'element test_elements assume_unique invert',
    'lexsort': 'keys',
    'lib.stride_tricks.as_strided': 'x shape strides',
    'linalg.cholesky': 'a',
    'linalg.matrix_power': 'M n',
    'linalg.matrix_rank': 'M tol',
    'linalg.pinv': 'a rcond',
    'linalg.svd': 'a full_matrices compute_uv',
    'linspace': 'start stop num endpoint retstep dtype axis',
    'load': 'file mmap_mode allow_pickle',
    'matmul': '*args',
    'max': 'a axis out keepdims',
    'mean': 'a axis dtype out keepdims',
    'min': 'a axis out keepdims',
    'nanmax': 'a axis out keepdims',
    'nanmean': 'a axis dtype out keepdims',
    'nanmin': 'a axis out keepdims',
    'nanprod': 'a axis dtype out keepdims',
    'nanstd': 'a axis dtype out ddof keepdims',
    'nansum': 'a axis dtype out keepdims',
    'nanvar': 'a axis dtype out ddof keepdims',
    'ndarray': 'T __abs__ __add__ __and__ __annotations__ __array__ __array_finalize__ __array_function__ __array_priority__ __array_ufunc__ __bool__ __bytes__ __class__ __class_getitem__ __complex__ __copy__ __cuda_array_interface__ __deepcopy__ __delattr__ __delitem__ __dir__ __divmod__ __dlpack__ __dlpack_device__ __doc__ __eq__ __float__ __floordiv__ __format__ __ge__ __getattribute__ __getitem__ __getstate__ __gt__ __hash__ __iadd__ __iand__ __ifloordiv__ __ilshift__ __imod__ __imul__ __init__ __init_subclass__ __int__ __invert__ __ior__ __ipow__ __irshift__ __isub__ __iter__ __itruediv__ __ixor__ __le__ __len__ __lshift__ __lt__ __matmul__ __mod__ __module__ __mul__ __ne__ __neg__ __new__ __or__ __pos__ __pow__ __pyx_vtable__ __radd__ __rand__ __rdivmod__ __reduce__ __reduce_ex__ __repr__ __rfloordiv__ __rlshift__ __rmatmul__ __rmod__ __rmul__ __ror__ __rpow__ __rrshift__ __rshift__ __rsub__ __rtruediv__ __rxor__ __setattr__ __setitem__ __sizeof__ __slots__ __str__ __sub__ __subclasshook__ __truediv__ __xor__ _add_reduceat _c_contiguous _f_contiguous _index_32_bits _init _scatter_op _set_shape_and_strides _shape _strides all any argmax argmin argpartition argsort astype base choose clip compress conj conjugate copy cstruct cumprod cumsum data device diagonal dot dtype dump dumps fill flags flat flatten get imag item itemsize max mean min nbytes ndim nonzero partition prod ptp put ravel real reduced_view repeat reshape round scatter_add scatter_max scatter_min searchsorted set shape size sort squeeze std strides sum swapaxes take toDlpack tobytes tofile tolist trace transpose var view',
    'ones': 'shape dtype order',
    'ones_like': 'a dtype order subok shape',
    'partition': 'a kth axis',
    'percentile': 'a q axis out overwrite_input method keepdims interpolation',
    'prod': 'a axis dtype out keepdims',
    'quantile': 'a q axis out overwrite_input method keepdims interpolation',
    'random.permutation': 'a',
    'random.shuffle': 'a',
    'require': 'a dtype requirements',
    'reshape': 'a newshape order',
    'rot90': 'a k axes',
    'show_config': '_full',
    'sort': 'a axis kind',
    'stack': 'tup axis out dtype casting',
    'std': 'a axis dtype out ddof keepdims',
    'sum': 'a axis dtype out keepdims',
    'take': 'a indices axis out',
    'take_along_axis': 'a indices axis',
    'testing.assert_allclose': 'actual desired rtol atol err_msg verbose',
    'testing.assert_array_almost_equal': 'decimal err_msg verbose',
    'testing.assert_array_equal': 'err_msg verbose strides_check',
    'testing.assert_array_less': 'x y err_msg verbose',
    'testing.assert_warns': 'expected',
    'tri': 'N M k dtype',
    'trim_zeros': 'filt trim',
    'union1d': 'arr1 arr2',
    'unique': 'ar return_index return_inverse return_counts axis equal_nan',
    'unpackbits': 'a axis bitorder',
    'unravel_index': 'indices dims order',
    'var': 'a axis dtype out ddof keepdims',
    'zeros': 'shape dtype order',
    'zeros_like': 'a dtype order subok shape',
}

NDARRAY = """
    T all any argmax argmin argpartition argsort astype base choose clip compress conj conjugate
    copy cstruct cumprod cumsum data device diagonal dot dtype dump dumps fill flags flat
    flatten get imag item itemsize max mean min nbytes ndim nonzero partition prod ptp put ravel
    real reduced_view repeat reshape round scatter_add scatter_max scatter_min searchsorted set
    shape size sort squeeze std strides sum swapaxes take toDlpack tobytes tofile tolist trace
    transpose var view
""".split()

NDARRAY_SIGNATURES = {
    'all': 'axis out keepdims',
    'any': 'axis out keepdims',
    'argmax': 'axis out dtype keepdims',
    'argmin': 'axis out dtype keepdims',
    'argpartition': 'kth axis',
    'argsort': 'axis',
    'astype': 'dtype order casting subok copy',
    'choose': 'choices out mode',
    'clip': 'min max out',
    'compress': 'condition axis out',
    'conj': '',
    'conjugate': '',
    'copy': 'order',
    'cumprod': 'axis dtype out',
    'cumsum': 'axis dtype out',
    'diagonal': 'offset axis1 axis2',
    'dot': 'b out',
    'dump': 'file',
    'dumps': '',
    'fill': 'value',
    'flatten': 'order',
    'get': 'stream order out blocking',
    'item': '',
    'max': 'axis out keepdims',
    'mean': 'axis dtype out keepdims',
    'min': 'axis out keepdims',
    'nonzero': '',
    'partition': 'kth axis',
    'prod': 'axis dtype out keepdims',
    'ptp': 'axis out keepdims',
    'put': 'indices values mode',
    'ravel': 'order',
    'reduced_view': 'dtype',
    'repeat': 'repeats axis',
    'reshape': '*shape order',
    'round': 'decimals out',
    'scatter_add': 'slices value',
    'scatter_max': 'slices value',
    'scatter_min': 'slices value',
    'searchsorted': 'v side sorter',
    'set': 'arr stream',
    'sort': 'axis',
    'squeeze': 'axis',
    'std': 'axis dtype out ddof keepdims',
    'sum': 'axis dtype out keepdims',
    'swapaxes': 'axis1 axis2',
    'take': 'indices axis out',
    'toDlpack': '',
    'tobytes': 'order',
    'tofile': 'fid sep format',
    'tolist': '',
    'trace': 'offset axis1 axis2 dtype out',
    'transpose': '*axes',
    'var': 'axis dtype out ddof keepdims',
    'view': 'dtype type',
}
