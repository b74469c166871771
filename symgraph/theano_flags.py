"""Theano's settings read by symgraph: ``THEANO_FLAGS`` and the flag sections
(``config.warn.*``, ``config.gcc.cxxflags`` ...).

Data and small helpers only; ``config.py`` builds its options from them.  A
Theano flag either maps onto a symgraph option (``device``, ``base_compiledir``,
``mode=FAST_RUN`` ...) or is accepted and has no effect.  Flags whose value would
change what a program computes or how it is built carry a note: setting one of
them to a value other than its default says, in one line, that symgraph ignores
it.  The others (compiler and library paths, GPU memory pools, the ``warn.*``
switches for old Theano bugs) are accepted silently.
"""
import warnings

_REWRITES = "symgraph's rewrites are fixed (optimizer=fast_run|fast_compile|None)"

# name: (Theano's default, note when set to another value, or None)
TOP = {
    "cxx": ("", None),
    "openmp": (False, None),
    "openmp_elemwise_minsize": (200000, None),
    "allow_gc": (True, None),
    "linker": ("cvm", "the linker is the mode (mode='numba' or 'python')"),
    "optimizer_including": ("", _REWRITES),
    "optimizer_excluding": ("", _REWRITES),
    "optimizer_requiring": ("", _REWRITES),
    "optimizer_verbose": (False, "sg.optimize(outputs) shows the rewritten graph"),
    "on_opt_error": ("warn", None),
    "on_unused_input": ("raise", "pass on_unused_input= to function"),
    "nocleanup": (False, None),
    "warn_float64": ("ignore", "float64 variables are not reported"),
    "cast_policy": ("custom", "dtypes follow symgraph's rules (docs/theano.md)"),
    "int_division": ("int", "dtypes follow symgraph's rules (docs/theano.md)"),
    "deterministic": ("default", None),
    "cycle_detection": ("regular", None),
    "check_input": (True, None),
    "print_active_device": (True, None),
    "force_device": (False, None),
    "init_gpu_device": ("", None),
    "assert_no_cpu_op": ("ignore", None),
    "unpickle_function": (True, None),
    "reoptimize_unpickled_function": (False, None),
    "allow_output_prealloc": (True, None),
    "compute_test_value_opt": ("off", "the optimizer never computes test values"),
    "print_test_value": (False, None),
    "profile_memory": (False, "profiles measure time, not memory"),
    "profile_optimizer": (False, "profiles give the optimizer's total time, not each rewrite's"),
    "profiling_memory": (False, None),
    "compiledir_format": ("", None),
    "pickle_test_value": (True, None),
}

SECTIONS = {
    "warn": {name: (True, None) for name in (
        "sum_div_dimshuffle_bug", "argmax_pushdown_bug", "gpusum_01_011_0111_bug", "sum_sum_bug",
        "subtensor_merge_bug", "gpu_set_subtensor1", "vm_gc_bug", "signal_conv2d_interface",
        "reduce_join", "inc_set_subtensor1", "round", "identify_1pexp_bug")} | {
        "ignore_bug_before": ("0.8", None)},
    "gcc": {"cxxflags": ("", None)},
    "blas": {"ldflags": ("", None), "check_openmp": (True, None)},
    "nvcc": {"fastmath": (False, "no nvcc: symgraph has no CUDA backend yet"),
             "flags": ("", None), "compiler_bindir": ("", None), "cudafe": ("heuristic", None)},
    "cuda": {"root": ("", None), "include_path": ("", None)},
    "dnn": {"enabled": ("auto", None), "library_path": ("", None), "include_path": ("", None),
            "conv.algo_fwd": ("small", None), "conv.algo_bwd_data": ("none", None),
            "conv.algo_bwd_filter": ("none", None), "conv.precision": ("as_input_f32", None)},
    "lib": {"cnmem": (0.0, None)},
    "gpuarray": {"preallocate": (0.0, None), "sched": ("default", None),
                 "single_stream": (True, None)},
    "cmodule": {"warn_no_version": (False, None), "remove_gxx_opt": (False, None),
                "compilation_warning": (False, None), "preload_cache": (False, None),
                "age_thresh_use": (60 * 60 * 24 * 24, None), "mac_framework_link": (False, None)},
    "numpy": {name: ("ignore", "NumPy's error handling is NumPy's (np.seterr)")
              for name in ("seterr_all", "seterr_divide", "seterr_over", "seterr_under",
                           "seterr_invalid")},
    "tensor": {"cmp_sloppy": (0, "comparisons are exact"), "local_elemwise_fusion": (True, None)},
    "scan": {"allow_gc": (False, None), "allow_output_prealloc": (True, None),
             "debug": (False, None)},
    "traceback": {"limit": (8, None), "compile_limit": (0, None)},
    "compile": {"timeout": (120, None), "wait": (5, None)},
    "optdb": {"max_use_ratio": (8.0, None), "position_cutoff": (float("inf"), None)},
    "metaopt": {"verbose": (0, None), "optimizer_excluding": ("", None),
                "optimizer_including": ("", None)},
    "profiling": {"n_apply": (20, None), "n_ops": (20, None), "output_line_width": (512, None),
                  "min_memory_size": (1024, None), "min_peak_memory": (False, None),
                  "destination": ("stderr", None), "debugprint": (False, None),
                  "ignore_first_call": (False, None)},
    "DebugMode": {"patience": (10, None), "check_c": (True, None), "check_py": (True, None),
                  "check_finite": (True, None), "check_strides": (0, None),
                  "warn_input_not_reused": (True, None), "check_preallocated_output": ("", None)},
    "NanGuardMode": {"nan_is_error": (True, None), "inf_is_error": (True, None),
                     "big_is_error": (True, None), "action": ("raise", None)},
    "magma": {"enabled": (False, None), "include_path": ("", None), "library_path": ("", None)},
    "conv": {"assert_shape": (False, None)},
    "experimental": {"local_alloc_elemwise": (True, None), "unpickle_gpu_on_cpu": (False, None)},
}

_FALSE = ("0", "false", "no", "off", "")


def convert(default, value):
    """``value`` (a flag's text, or a Python value) in the kind of its default."""
    if isinstance(default, bool):
        return value.strip().lower() not in _FALSE if isinstance(value, str) else bool(value)
    if isinstance(default, (int, float)) and isinstance(value, str):
        return type(default)(float(value)) if isinstance(default, int) and "." in value \
            else type(default)(value)
    return value


def note(name, default, value, why, stacklevel=4):
    """The one-line note for a flag that symgraph ignores although it was set."""
    if why is not None and value != default:
        warnings.warn(f"symgraph ignores config.{name}={value!r}: {why}", stacklevel=stacklevel)


class Section:
    """``config.warn``, ``config.gcc`` ...: Theano's flag sections, accepted as
    attributes; the values live in the config's values (so ``config.change``
    restores them) under their dotted names."""

    def __init__(self, values, prefix, known):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_known", known)   # {subname: (default, note)}

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        full = f"{self._prefix}.{name}"
        if full in self._values:
            return self._values[full]
        if name in self._known:
            return self._known[name][0]
        nested = {k[len(name) + 1:]: v for k, v in self._known.items() if k.startswith(name + ".")}
        if nested:
            return Section(self._values, full, nested)
        raise AttributeError(f"symgraph.config.{self._prefix} has no flag {name!r}")

    def __setattr__(self, name, value):
        full = f"{self._prefix}.{name}"
        if isinstance(self._known.get(name), tuple):
            default, why = self._known[name]
            try:
                value = convert(default, value)
            except (TypeError, ValueError):
                raise ValueError(f"config.{full}: {value!r} is not a {type(default).__name__}") \
                    from None
            note(full, default, value, why, stacklevel=3)
        # flags of a section that this table does not list are kept as given
        self._values[full] = value

    def __repr__(self):
        return f"<symgraph.config.{self._prefix}: Theano flags, no effect in symgraph>"


# THEANO_FLAGS entries that map onto symgraph's options
DEVICES = {"cpu": "numba"}
THEANO_MODES = {"FAST_RUN": ("mode", "numba"), "FAST_COMPILE": ("optimizer", "fast_compile"),
                "DebugMode": ("mode", "debug"), "DEBUG_MODE": ("mode", "debug"),
                "Mode": ("mode", "numba")}


def device_mode(value):
    """The mode of a Theano ``device``: cpu -> numba; cuda, cuda0, gpu, gpu1 ... -> cuda."""
    text = str(value).strip().lower()
    if text in DEVICES:
        return DEVICES[text]
    if text.rstrip("0123456789") in ("cuda", "gpu", "opencl"):
        return "cuda"
    raise ValueError("is not a device (cpu, cuda, cuda0, gpu ...)")


def translate(key, value, mode_choices):
    """The (option, value) a ``THEANO_FLAGS`` entry sets in symgraph's config."""
    if key == "base_compiledir":
        return "compiledir", value
    if key == "mode" and value not in mode_choices and value in THEANO_MODES:
        return THEANO_MODES[value]
    return key, value
