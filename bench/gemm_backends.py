"""Can an optional GEMM beat NumPy's matmul on W1's products (MLP 784-512-256-10, batch 128)?

Candidates (each gets NumPy arrays in and returns a new C-ordered NumPy array):
  numpy     x @ W.T etc. (NumPy's bundled OpenBLAS: the baseline)
  scipy     scipy.linalg.blas.sgemm/dgemm (SciPy's bundled OpenBLAS), Fortran trick, no copies
  npctypes  NumPy's own OpenBLAS via ctypes scipy_cblas_sgemm64_ (diagnostic, same library)
  sob32     PyPI scipy-openblas32, ctypes scipy_cblas_sgemm, row-major, 32-bit ints
  sob64     PyPI scipy-openblas64, ctypes scipy_cblas_sgemm64_, row-major, 64-bit ints
  mkl       PyPI mkl (libmkl_rt.so.3), ctypes cblas_sgemm, row-major, LP64
  torch     torch.mm on from_numpy views, .numpy() out (reference only)

The 8 products of one SGD step (3 forward, 3 grad_weight, 2 grad_input: layer 1's grad_input
is not needed), weights W (out, in) C-contiguous:
  nt: x @ W.T   (128,in)x(out,in)^T      nn: g @ W   (128,out)x(out,in)
  tn: g.T @ a   (128,out)^T x (128,in)

Modes:
  inproc  all candidates in one process, interleaved (random order each repetition); with
          threads > 1 a cool-down sleep before each candidate lets the previous library's
          spinning worker threads go to sleep.
  pair    per candidate one process with numpy + that candidate only, interleaved with a
          cool-down, processes alternated for several rounds; ratios paired within a process.
          (The report's 2-thread numbers: with mkl's iomp5, torch's gomp and the OpenBLAS pools
          all in one process the cool-down does not stop the fight.)
  solo    one process per candidate (NumPy is imported but idle), processes alternated for
          several rounds; the per-repetition samples of all rounds are pooled.

Usage:
  python gemm_bench.py --mode inproc --dtype float32 --threads 2
  python gemm_bench.py --mode solo --dtype float32 --threads 2 --rounds 4
  python gemm_bench.py --mode pair --dtype float32 --threads 2 --reps 24 --rounds 3
  python gemm_bench.py --mode all --reps 40 --rounds 4 --json all.json   # the report's runs
  python gemm_bench.py --mode pair --dtype float32 --threads 2 --reps 60 --rounds 6  # + this
Repetitions during which other processes used >= --max-other cores (system busy time from
/proc/stat minus this process's, while a candidate was being timed) are dropped.
The scipy-openblas32/64 and mkl packages are looked up in --site (a venv's site-packages,
default ./venv/lib/python3.11/site-packages), appended to sys.path after the running
interpreter's own packages; a candidate that is not installed is skipped. To have them all:
  python -m venv /tmp/gemm && /tmp/gemm/bin/pip install scipy-openblas32 scipy-openblas64 mkl \
      threadpoolctl
  .venv/bin/python bench/gemm_backends.py --site /tmp/gemm/lib/python3.11/site-packages ...
The decision it informed (issue 14, 2026-12-07) is in bench/README.md.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SITE = os.path.join(HERE, "venv", "lib", "python3.11", "site-packages")
ALL = ["numpy", "npctypes", "scipy", "sob32", "sob64", "mkl", "torch"]
SIZES = (784, 512, 256, 10)
BATCH = 128

import numpy as np  # noqa: E402

# ---- products ----------------------------------------------------------------------------------


def make_products(dtype):
    """[(label, kind, a, b)]: kind nt = a @ b.T, nn = a @ b, tn = a.T @ b; a, b C-contiguous."""
    rng = np.random.default_rng(0)
    Ws = [
        rng.uniform(-1, 1, (o, i)).astype(dtype) / np.sqrt(i).astype(dtype)
        for i, o in itertools.pairwise(SIZES)
    ]
    acts = [rng.standard_normal((BATCH, s)).astype(dtype) for s in SIZES]  # x, a1, a2, logits
    gs = [(rng.standard_normal((BATCH, s)) * 1e-2).astype(dtype) for s in SIZES]
    prods = []
    for i in range(3):  # forward
        prods.append(
            (f"F{i + 1} {BATCH}x{SIZES[i]} @ ({SIZES[i + 1]}x{SIZES[i]}).T", "nt", acts[i], Ws[i])
        )
    for i in (2, 1, 0):  # backward, last layer first
        prods.append(
            (f"GW{i + 1} ({BATCH}x{SIZES[i + 1]}).T @ {BATCH}x{SIZES[i]}", "tn", gs[i + 1], acts[i])
        )
        if i > 0:
            prods.append(
                (
                    f"GI{i + 1} {BATCH}x{SIZES[i + 1]} @ {SIZES[i + 1]}x{SIZES[i]}",
                    "nn",
                    gs[i + 1],
                    Ws[i],
                )
            )
    tiny = ("tiny 2x2 @ (2x2).T", "nt", np.ones((2, 2), dtype), np.ones((2, 2), dtype))
    return prods, tiny


# ---- candidates --------------------------------------------------------------------------------


def _tp_controller(substr):
    from threadpoolctl import ThreadpoolController

    libs = [c for c in ThreadpoolController().lib_controllers if substr in c.filepath]
    assert libs, f"no BLAS with {substr} in its path"
    return libs[0]


class Numpy:
    name = "numpy"

    def __init__(self, dtype):
        self.ctl = _tp_controller("numpy.libs")
        self.nt = lambda a, b: a @ b.T
        self.nn = lambda a, b: a @ b
        self.tn = lambda a, b: a.T @ b

    def set_threads(self, n):
        self.ctl.set_num_threads(n)

    def info(self):
        name = os.path.basename(self.ctl.filepath)
        return f"OpenBLAS {self.ctl.version} {self.ctl.architecture} ({name})"


class Scipy:
    """Fortran view: a C (m,k) array is a Fortran (k,m) array; compute C^T = op(B^T) op(A^T)."""

    name = "scipy"

    def __init__(self, dtype):
        from scipy.linalg import blas

        gemm = blas.sgemm if dtype == np.float32 else blas.dgemm
        self.ctl = _tp_controller("scipy.libs")
        # positional: alpha, a, b, beta, c, trans_a, trans_b (each a/b an F-contiguous view)
        self.nt = lambda x, W: gemm(1.0, W.T, x.T, 0.0, None, 1, 0).T  # (W^T)^T x^T = (x W^T)^T
        self.nn = lambda g, W: gemm(1.0, W.T, g.T).T  # W^T g^T = (g W)^T
        self.tn = lambda g, x: gemm(1.0, x.T, g.T, 0.0, None, 0, 1).T  # x^T g = (g^T x)^T

    def set_threads(self, n):
        self.ctl.set_num_threads(n)

    def info(self):
        import scipy

        return f"scipy {scipy.__version__}, OpenBLAS {self.ctl.version} {self.ctl.architecture}"


ROW, NOTRANS, TRANS = 101, 111, 112  # CblasRowMajor, CblasNoTrans, CblasTrans
_cbuf, _addr = ctypes.c_char.from_buffer, ctypes.addressof


def _ptr(a):
    """Address of a C-contiguous array's data (0.2 us; a.ctypes.data costs ~1 us)."""
    try:
        return _addr(_cbuf(a))
    except (TypeError, ValueError):  # read-only or empty buffer
        return a.ctypes.data


def cblas_binding(fn, int_t, dtype):
    """Row-major nt/nn/tn wrappers around a cblas_?gemm symbol; inputs must be C-contiguous."""
    real_t = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    P, E = ctypes.c_void_p, ctypes.c_int  # enums are C ints in both interfaces
    fn.argtypes = [E, E, E, int_t, int_t, int_t, real_t, P, int_t, P, int_t, real_t, P, int_t]
    fn.restype = None

    def nt(x, W):  # x (m,k) @ W(n,k).T -> (m,n)
        m, k = x.shape
        n = W.shape[0]
        c = np.empty((m, n), dtype)
        fn(ROW, NOTRANS, TRANS, m, n, k, 1.0, _ptr(x), k, _ptr(W), k, 0.0, _ptr(c), n)
        return c

    def nn(g, W):  # g (m,k) @ W (k,n) -> (m,n)
        m, k = g.shape
        n = W.shape[1]
        c = np.empty((m, n), dtype)
        fn(ROW, NOTRANS, NOTRANS, m, n, k, 1.0, _ptr(g), k, _ptr(W), n, 0.0, _ptr(c), n)
        return c

    def tn(g, x):  # g (k,m).T @ x (k,n) -> (m,n)
        k, m = g.shape
        n = x.shape[1]
        c = np.empty((m, n), dtype)
        fn(ROW, TRANS, NOTRANS, m, n, k, 1.0, _ptr(g), m, _ptr(x), n, 0.0, _ptr(c), n)
        return c

    return nt, nn, tn


class SciPyOpenBLAS:
    def __init__(self, dtype, bits):
        import importlib

        self.name = f"sob{bits}"
        self.mod = importlib.import_module(f"scipy_openblas{bits}")
        path = os.path.join(self.mod.get_lib_dir(), self.mod.get_library(fullname=True))
        self.lib = lib = ctypes.CDLL(path)
        sfx = "64_" if bits == 64 else ""
        int_t = ctypes.c_int64 if bits == 64 else ctypes.c_int32
        gemm = getattr(
            lib, ("scipy_cblas_sgemm" if dtype == np.float32 else "scipy_cblas_dgemm") + sfx
        )
        self.nt, self.nn, self.tn = cblas_binding(gemm, int_t, dtype)
        self._set = getattr(lib, "scipy_openblas_set_num_threads" + sfx)
        self._set.argtypes = [ctypes.c_int]
        for f in ("get_config", "get_corename"):
            getattr(lib, f"scipy_openblas_{f}{sfx}").restype = ctypes.c_char_p
        self.sfx = sfx

    def set_threads(self, n):
        self._set(n)

    def info(self):
        g = lambda f: getattr(self.lib, f"scipy_openblas_{f}{self.sfx}")().decode().strip()  # noqa: E731
        config, core = g("get_config"), g("get_corename")
        return f"scipy-openblas{self.name[3:]} {self.mod.__version__}: {config}, core {core}"


class NumpyCtypes:
    """NumPy's own bundled OpenBLAS through the same ctypes binding (separates the library from
    NumPy's matmul dispatch)."""

    name = "npctypes"

    def __init__(self, dtype):
        self.ctl = _tp_controller("numpy.libs")
        lib = ctypes.CDLL(self.ctl.filepath)
        gemm = lib.scipy_cblas_sgemm64_ if dtype == np.float32 else lib.scipy_cblas_dgemm64_
        self.nt, self.nn, self.tn = cblas_binding(gemm, ctypes.c_int64, dtype)

    def set_threads(self, n):
        self.ctl.set_num_threads(n)

    def info(self):
        return "NumPy's OpenBLAS via ctypes scipy_cblas_sgemm64_"


class MKL:
    name = "mkl"

    def __init__(self, dtype):
        import importlib.metadata as md

        self.version = md.version("mkl")
        libdir = os.path.normpath(os.path.join(SITE, "..", ".."))  # <venv>/lib
        self.lib = lib = ctypes.CDLL(os.path.join(libdir, "libmkl_rt.so.3"))
        gemm = lib.cblas_sgemm if dtype == np.float32 else lib.cblas_dgemm
        self.nt, self.nn, self.tn = cblas_binding(gemm, ctypes.c_int, dtype)  # LP64: 32-bit ints
        lib.MKL_Set_Num_Threads.argtypes = [ctypes.c_int]
        lib.MKL_CBWR_Get_Auto_Branch.restype = ctypes.c_int

    def set_threads(self, n):
        self.lib.MKL_Set_Num_Threads(n)

    def info(self):
        buf = ctypes.create_string_buffer(256)
        self.lib.MKL_Get_Version_String(buf, 256)
        with open("/proc/self/maps") as maps:
            cpu_libs = sorted(
                {
                    ln.split()[-1].rsplit("/", 1)[-1]
                    for ln in maps
                    if "libmkl_" in ln and any(s in ln for s in ("_def", "_mc3", "_avx"))
                }
            )
        return (
            f"mkl {self.version}: {buf.value.decode()}; CBWR auto branch "
            f"{self.lib.MKL_CBWR_Get_Auto_Branch()} (2=COMPATIBLE, 12=AVX512); CPU libs {cpu_libs}"
        )


class Torch:
    name = "torch"

    def __init__(self, dtype):
        import torch

        self.torch = torch
        mm, fn = torch.mm, torch.from_numpy
        self.nt = lambda x, W: mm(fn(x), fn(W).t()).numpy()
        self.nn = lambda g, W: mm(fn(g), fn(W)).numpy()
        self.tn = lambda g, x: mm(fn(g).t(), fn(x)).numpy()

    def set_threads(self, n):
        self.torch.set_num_threads(n)

    def info(self):
        t = self.torch
        mkl, cpu = t.backends.mkl.is_available(), t.backends.cpu.get_cpu_capability()
        return f"torch {t.__version__}, MKL {mkl}, cpu {cpu}"


def make(name, dtype):
    if name == "numpy":
        return Numpy(dtype)
    if name == "scipy":
        return Scipy(dtype)
    if name in ("sob32", "sob64"):
        return SciPyOpenBLAS(dtype, int(name[3:]))
    if name == "mkl":
        return MKL(dtype)
    if name == "npctypes":
        return NumpyCtypes(dtype)
    if name == "torch":
        return Torch(dtype)
    raise ValueError(name)


# ---- measuring ---------------------------------------------------------------------------------


def check(c, prods, tiny, dtype):
    """Max |cand - numpy| and |cand - float64 exact| relative to max|exact|, per product."""
    out = {}
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for label, kind, a, b in prods + [tiny]:
        ref = {"nt": lambda p, q: p @ q.T, "nn": lambda p, q: p @ q, "tn": lambda p, q: p.T @ q}[
            kind
        ]
        r_np = ref(a, b)
        exact = ref(a.astype(np.float64), b.astype(np.float64))
        r = getattr(c, kind)(a, b)
        assert r.shape == exact.shape and r.dtype == dtype, (label, r.shape, r.dtype)
        assert r.flags.c_contiguous, label
        scale = np.abs(exact).max()
        e_np = float(np.abs(r - r_np).max() / scale)
        e_ex = float(np.abs(r - exact).max() / scale)
        assert e_ex < tol and e_np < 2 * tol, (c.name, label, e_np, e_ex)
        out[label] = (e_np, e_ex)
    return max(v[0] for v in out.values()), max(v[1] for v in out.values())


def _busy():
    """(CPU seconds used by all processes + stolen by the hypervisor, by this process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    t = os.times()
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK"), t.user + t.system


def block(f, a, b, n):
    t0 = time.perf_counter()
    for _ in range(n):
        f(a, b)
    return (time.perf_counter() - t0) / n


def step_fn(c, prods):
    calls = [(getattr(c, kind), a, b) for _, kind, a, b in prods]

    def step(_a=None, _b=None):
        for f, a, b in calls:
            f(a, b)

    return step


def measure(names, dtype, threads, reps, cooldown, target_s=0.01, seed=None, verbose=True):
    """Interleaved repetitions over the candidates in this process; returns samples per key."""
    prods, tiny = make_products(dtype)
    cands = []
    for n in names:
        try:
            cands.append(make(n, dtype))
        except (ImportError, OSError) as e:  # a candidate not installed here: say so, go on
            print(f"skipped {n}: {type(e).__name__}: {e}", file=sys.stderr)
    for c in cands:
        c.set_threads(threads)
    info, errs = {}, {}
    for c in cands:
        errs[c.name] = check(c, prods, tiny, dtype)
        info[c.name] = c.info()
    # calls per block: calibrated on the first candidate, the same for all
    c0 = cands[0]
    ns = {}
    for label, kind, a, b in prods + [tiny]:
        f = getattr(c0, kind)
        t = min(block(f, a, b, 3) for _ in range(3))
        ns[label] = max(3, int(target_s / t))
    st0 = step_fn(c0, prods)
    ns["step"] = max(3, int(2 * target_s / min(block(st0, None, None, 2) for _ in range(3))))
    samples = {c.name: {k: [] for k in ns} for c in cands}
    other = []  # per repetition: the most CPU (in cores) others used while a candidate ran
    rnd = random.Random(seed)
    order = list(cands)
    for _ in range(reps):
        rnd.shuffle(order)
        worst = 0.0
        for c in order:
            if cooldown and len(cands) > 1:
                time.sleep(cooldown)
            st = step_fn(c, prods)
            (all0, own0), t0 = _busy(), time.perf_counter()
            st()  # warm-up: wake the threads, touch the data
            for label, kind, a, b in prods + [tiny]:
                samples[c.name][label].append(block(getattr(c, kind), a, b, ns[label]))
            samples[c.name]["step"].append(block(st, None, None, ns["step"]))
            (all1, own1), t1 = _busy(), time.perf_counter()
            worst = max(worst, ((all1 - all0) - (own1 - own0)) / (t1 - t0))
        other.append(worst)
    labels = [p[0] for p in prods] + [tiny[0], "step"]
    return {
        "samples": samples,
        "other": {c.name: list(other) for c in cands},
        "info": info,
        "errs": errs,
        "labels": labels,
    }


def report(res, base="numpy", title=""):
    """Medians per product, then numpy/cand ratios: per product and for the measured step the
    median of per-repetition ratios against the numpy samples taken in the same process (paired);
    for the sum of the 8 products the ratio of the sums of medians."""
    samples, labels = res["samples"], res["labels"]
    pairs = res.get("base") or {n: samples[base] for n in samples if base in samples}
    names = list(samples)
    med = {n: {k: statistics.median(v) for k, v in samples[n].items()} for n in names}
    prods = [k for k in labels if k[0] in "FG"]
    sums = {n: sum(med[n][k] for k in prods) for n in names}
    w = 34
    print(
        f"\n== {title}\n   median us per call (reps: "
        + ", ".join(f"{n} {len(samples[n]['step'])}" for n in names)
        + ")"
    )
    print(f"{'product':{w}}" + "".join(f"{n:>9}" for n in names))
    for k in labels:
        print(f"{k:{w}}" + "".join(f"{med[n][k] * 1e6:9.1f}" for n in names))
    print(f"{'sum of the 8 products':{w}}" + "".join(f"{sums[n] * 1e6:9.1f}" for n in names))
    ratios = {}
    if pairs:
        print("   numpy/cand (>1: cand faster), paired per repetition")
        for k in labels + ["sum of the 8 products"]:
            row = {}
            for n in names:
                b = pairs.get(n)
                if b is None:
                    continue
                if k.startswith("sum"):
                    row[n] = sum(statistics.median(b[p]) for p in prods) / sums[n]
                else:
                    row[n] = statistics.median(x / y for x, y in zip(b[k], samples[n][k]))
            ratios[k] = row
            print(f"{k:{w}}" + "".join(f"{row[n]:9.3f}" if n in row else " " * 9 for n in names))
    return med, sums, ratios


def clean(res, thr, min_reps=5):
    """Keep the repetitions during which other processes used < thr cores (from /proc/stat)."""
    keep = {n: [i for i, o in enumerate(res["other"][n]) if o < thr] for n in res["samples"]}
    if min(len(v) for v in keep.values()) < min_reps:
        return res, f"other load: too few clean reps below {thr} cores, all reps kept"
    sel = lambda d, n: {k: [v[i] for i in keep[n]] for k, v in d.items()}  # noqa: E731
    out = dict(res)
    out["samples"] = {n: sel(d, n) for n, d in res["samples"].items()}
    if res.get("base"):
        out["base"] = {n: sel(d, n) for n, d in res["base"].items()}
    tot = sum(len(v) for v in res["other"].values())
    return out, f"kept reps with others < {thr} cores: {sum(len(v) for v in keep.values())}/{tot}"


def run_worker(names, dtype, threads, reps, cooldown):
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            ",".join(names),
            "--dtype",
            dtype,
            "--threads",
            str(threads),
            "--reps",
            str(reps),
            "--site",
            SITE,
            "--cooldown",
            str(cooldown),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pool(dst, src):
    for k, v in src.items():
        dst.setdefault(k, []).extend(v)


def pair(names, dtype, threads, rounds, reps, cooldown):
    """Per candidate, one process holding numpy + that candidate only, interleaved with a
    cool-down; processes alternated for `rounds` rounds. Ratios are paired within processes."""
    cands = [n for n in names if n != "numpy"]
    res = {
        "samples": {"numpy": {}},
        "base": {},
        "other": {},
        "info": {},
        "errs": {},
        "labels": None,
    }
    for r in range(rounds):
        order = cands[r % len(cands) :] + cands[: r % len(cands)]
        for n in order[::-1] if r % 2 else order:
            w = run_worker(["numpy", n], dtype, threads, reps, cooldown)
            res["labels"] = w["labels"]
            res["info"].update(w["info"])
            res["errs"].update(w["errs"])
            _pool(res["samples"].setdefault(n, {}), w["samples"][n])
            _pool(res["base"].setdefault(n, {}), w["samples"]["numpy"])
            _pool(res["samples"]["numpy"], w["samples"]["numpy"])
            _pool(res["other"], {n: w["other"][n], "numpy": w["other"]["numpy"]})
    res["base"]["numpy"] = res["samples"]["numpy"]
    return res


# ---- driver ------------------------------------------------------------------------------------


def solo(names, dtype, threads, rounds, reps):
    """One process per candidate, alternated (rotated order) for `rounds` rounds; samples pooled."""
    pooled = {
        "samples": {n: None for n in names},
        "other": {},
        "info": {},
        "errs": {},
        "labels": None,
    }
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order = order[::-1]
        for n in order:
            res = run_worker([n], dtype, threads, reps, 0.0)
            pooled["labels"] = res["labels"]
            pooled["info"].update(res["info"])
            pooled["errs"].update(res["errs"])
            if pooled["samples"][n] is None:
                pooled["samples"][n] = {}
            _pool(pooled["samples"][n], res["samples"][n])
            _pool(pooled["other"], {n: res["other"][n]})
    return pooled


def main():
    global SITE
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="inproc", choices=["inproc", "solo", "pair", "all"])
    ap.add_argument("--cands", default=",".join(ALL))
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=4, help="solo/pair: process rounds")
    ap.add_argument(
        "--cooldown",
        type=float,
        default=None,
        help="inproc/pair: sleep before each candidate (default 0.5 s if threads>1)",
    )
    ap.add_argument(
        "--max-other",
        type=float,
        default=0.1,
        help="drop repetitions during which other processes used this many cores",
    )
    ap.add_argument("--site", default=DEFAULT_SITE)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write all results here")
    a = ap.parse_args()
    SITE = a.site
    if SITE not in sys.path:
        sys.path.append(SITE)
    if a.worker:
        res = measure(
            a.worker.split(","), np.dtype(a.dtype).type, a.threads, a.reps, a.cooldown or 0.0
        )
        print(json.dumps(res))
        return
    names = a.cands.split(",")
    runs = []
    if a.mode == "all":
        # threads=1: no worker threads, so interleaving all in one process is clean; threads=2:
        # spinning pools of several libraries in one process fight (see "fight"), so numpy +
        # one candidate per process, with a cool-down before each switch ("pair")
        for dt in ("float32", "float64"):
            runs += [("inproc", dt, 1), ("pair", dt, 2)]
        runs += [("fight", "float32", 2)]
    else:
        runs = [(a.mode, a.dtype, a.threads)]
    allres = {}
    for mode, dt, th in runs:
        if mode == "inproc":
            cd = a.cooldown if a.cooldown is not None else (0.5 if th > 1 else 0.0)
            res = measure(names, np.dtype(dt).type, th, a.reps, cd)
            title = f"{dt}, {th} thread(s), in one process, interleaved, cool-down {cd}s"
        elif mode == "fight":  # two OpenBLAS pools, both 2 threads, one process, no cool-down
            res = measure(["numpy", "sob32"], np.dtype(dt).type, th, 3, 0.0)
            title = f"{dt}, {th} threads, numpy + sob32 in one process, no cool-down (thread fight)"
        elif mode == "pair":
            cd = a.cooldown if a.cooldown is not None else (0.5 if th > 1 else 0.0)
            res = pair(names, dt, th, a.rounds, max(1, a.reps // a.rounds), cd)
            title = (
                f"{dt}, {th} thread(s), numpy + one candidate per process, cool-down {cd}s, "
                f"{a.rounds} alternated rounds"
            )
        else:
            res = solo(names, dt, th, a.rounds, max(1, a.reps // a.rounds))
            title = f"{dt}, {th} thread(s), one process per candidate, {a.rounds} alternated rounds"
        if not allres:
            for n, s in res["info"].items():
                print(f"{n:6} {s}")
        print(
            "max error rel. to max|exact|: "
            + ", ".join(
                f"{n} {e[0]:.1e} vs numpy / {e[1]:.1e} vs f64" for n, e in res["errs"].items()
            )
        )
        res, note = clean(res, a.max_other) if mode != "fight" else (res, "all reps kept")
        med, sums, ratios = report(res, title=f"{title}\n   {note}")
        allres[f"{mode}-{dt}-{th}"] = {
            "median": med,
            "sum": sums,
            "ratios": ratios,
            "info": res["info"],
            "errs": res["errs"],
            "samples": res["samples"],
        }
        sys.stdout.flush()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(allres, f)


SITE = DEFAULT_SITE
if __name__ == "__main__":
    main()
