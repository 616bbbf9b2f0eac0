"""LBFGS against PyTorch's step by step (a Rosenbrock function and a least-squares problem,
with and without the strong Wolfe line search, a short and a long history, float64 and
float32), its direction against the explicit BFGS matrix on every backend, the known minima
reached, its state dict through minifcn.save / load mid-run, and its errors."""
import numpy as np
import pytest

import minifcn
from minifcn import Tensor, nn
from minifcn.optim import LBFGS, SGD
from oracle import to_np
from optim_twins import save_load


pytestmark = pytest.mark.usefixtures("host_default_device")


def _rosenbrock(x):
    """Rosenbrock's function of ``x`` (n values) and its gradient, in NumPy: the same numbers
    for both optimizers (the closures' own rounding left out of the comparison)."""
    a, b = x[:-1], x[1:]
    f = np.sum(100 * (b - a * a) ** 2 + (1 - a) ** 2)
    g = np.zeros_like(x)
    g[:-1] = -400 * a * (b - a * a) - 2 * (1 - a)
    g[1:] += 200 * (b - a * a)
    return f, g


_A = np.random.default_rng(0).standard_normal((20, 6))
_B = np.random.default_rng(1).standard_normal(20)


def _least_squares(x):
    """``|A x - b|^2 / 2`` and its gradient ``A^T (A x - b)``, in NumPy."""
    r = _A @ x - _B
    return 0.5 * (r @ r), _A.T @ r


_PROBLEMS = {"rosenbrock": (_rosenbrock, np.array([-1.2, 1.0])), "least_squares": (_least_squares, np.zeros(6))}


def _twins(torch, problem, dtype, **options):
    """The same start in minifcn's LBFGS and PyTorch's, and closures that give both the same
    loss and gradient (float64 NumPy, cast to the parameter's dtype)."""
    fun, x0 = _PROBLEMS[problem]
    p = nn.Parameter(x0.astype(dtype))
    tp = torch.nn.Parameter(torch.tensor(x0.astype(dtype)))
    opt, topt = LBFGS([p], **options), torch.optim.LBFGS([tp], **options)

    def closure():
        f, g = fun(p.data.astype(np.float64))
        p.grad = g.astype(dtype)
        return f

    def tclosure():
        f, g = fun(tp.detach().numpy().astype(np.float64))
        tp.grad = torch.from_numpy(g.astype(dtype))
        return torch.tensor(f)

    return p, tp, opt, topt, closure, tclosure


_SETTINGS = [   # (line search, lr): PyTorch's default lr with a search; a small one without
    (None, 0.05), ("strong_wolfe", 1.0)]
# with lr 1 the search on these problems only narrows its first bracket; with 0.2 it first
# lengthens a short trial step (its bounded cubic extrapolation), on both problems. Left out:
# Rosenbrock with lr 0.2 and a history of 3, whose 4th step tries two points 1e-3 apart: the
# cubic through them divides their losses' difference by that distance, and PyTorch's and
# these ulps (below) become 6e-8 in one step, 1e-2 by the 11th, where the counts part: chaos,
# not another algorithm (the first 3 steps agree to 2e-15)
_CASES = [(problem, search, lr, history_size) for problem in _PROBLEMS
          for search, lr in _SETTINGS + [("strong_wolfe", 0.2)] for history_size in (3, 100)
          if (problem, lr, history_size) != ("rosenbrock", 0.2, 3)]


# float64: PyTorch's add with alpha (x + t d, q - a y) is a fused multiply-add, one rounding,
# NumPy's two; the curvature pairs (y = g' - g, a difference of nearby gradients) and the line
# search's cubic fits then grow those ulps, to 1.2e-9 of the largest value over these runs
# (the losses differ by those differences times the gradient: 2.5e-10 near Rosenbrock's floor)
@pytest.mark.parametrize("problem, line_search_fn, lr, history_size", _CASES)
def test_matches_torch_step_by_step(problem, line_search_fn, lr, history_size):
    """15 steps of 5 iterations: each step's returned loss, the parameters, the counts of
    closure calls and iterations are PyTorch's; so is the state after 3 steps (the pairs kept,
    their 1 / y.s, the scale H_diag, the last direction and gradient); later, near the
    minimum, the pairs are differences of nearly equal values, too ill-conditioned to compare
    closely, and the counts and the number of pairs kept are compared."""
    torch = pytest.importorskip("torch")
    p, tp, opt, topt, closure, tclosure = _twins(torch, problem, np.float64, lr=lr, max_iter=5,
                                                 history_size=history_size, line_search_fn=line_search_fn)
    scale = np.abs(_PROBLEMS[problem][1]).max() + 1
    for step in range(15):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        np.testing.assert_allclose(loss, tloss.item(), rtol=1e-8, atol=1e-9, err_msg=f"step {step}")
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=0, atol=2e-9 * scale, err_msg=f"step {step}")
        ours, theirs = opt.state[id(p)], topt.state[tp]
        assert (ours["func_evals"], ours["n_iter"]) == (theirs["func_evals"], theirs["n_iter"]), step
        assert len(ours["old_dirs"]) == len(theirs["old_dirs"]) <= history_size, step
        if step == 2:
            assert sorted(ours) == sorted(theirs)
            np.testing.assert_allclose(ours["ro"], [float(r) for r in theirs["ro"]], rtol=1e-8)
            np.testing.assert_allclose(ours["H_diag"], float(theirs["H_diag"]), rtol=1e-8)
            np.testing.assert_allclose(ours["t"], float(theirs["t"]), rtol=1e-8)
            for k in ("d", "prev_flat_grad"):
                assert ours[k].dtype == np.float64
                np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-8, atol=1e-9, err_msg=k)
            for k in ("old_dirs", "old_stps"):
                for a, b in zip(ours[k], theirs[k]):
                    np.testing.assert_allclose(a, b.numpy(), rtol=1e-8, atol=1e-9, err_msg=k)
    if history_size == 3:
        assert len(ours["old_dirs"]) == 3   # the history was full: the oldest pairs were dropped


@pytest.mark.parametrize("line_search_fn, lr", _SETTINGS)
def test_float32_least_squares_matches_torch_and_stays_float32(line_search_fn, lr):
    """float32 throughout (the parameters, the directions, the pairs, the scalars: PyTorch's
    0-d tensors are NumPy float32 scalars here). PyTorch's float32 sums and dot products
    round other than NumPy's, by an ulp or so (1e-7 relative); those grow a little over the
    6 steps."""
    torch = pytest.importorskip("torch")
    p, tp, opt, topt, closure, tclosure = _twins(torch, "least_squares", np.float32, lr=lr, max_iter=4,
                                                 line_search_fn=line_search_fn)
    for step in range(6):
        opt.step(closure)
        topt.step(tclosure)
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=f"step {step}")
        assert opt.state[id(p)]["func_evals"] == topt.state[tp]["func_evals"], step
    state = opt.state[id(p)]
    assert p.data.dtype == np.float32
    assert all(a.dtype == np.float32 for a in state["old_dirs"] + state["old_stps"] + [state["d"]])
    assert all(type(r) is np.float32 for r in state["ro"]) and type(state["H_diag"]) is np.float32


@pytest.mark.parametrize("line_search_fn, lr", _SETTINGS)
def test_a_linear_fit_by_autograd_matches_torch(line_search_fn, lr):
    """Closures that compute a loss with each library's own ops (a linear layer's weight and
    bias, two parameters, one flat vector to LBFGS) and a third parameter the loss does not
    use: its gradient stays None, counts as zeros (PyTorch's too), and it never moves."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((30, 2))
    w0, b0 = rng.standard_normal((2, 4)), rng.standard_normal(2)
    params = [nn.Parameter(w0.copy()), nn.Parameter(b0.copy()), nn.Parameter(np.ones(3))]
    tparams = [torch.nn.Parameter(torch.tensor(a)) for a in (w0, b0, np.ones(3))]
    options = dict(lr=lr, max_iter=6, line_search_fn=line_search_fn)
    opt, topt = LBFGS(params, **options), torch.optim.LBFGS(tparams, **options)

    def closure():
        opt.zero_grad()
        loss = ((Tensor(x) @ params[0].T + params[1] - Tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    def tclosure():
        topt.zero_grad()
        loss = ((torch.from_numpy(x) @ tparams[0].T + tparams[1] - torch.from_numpy(y)) ** 2).mean()
        loss.backward()
        return loss

    for step in range(4):
        loss, tloss = opt.step(closure), topt.step(tclosure)
        assert isinstance(loss, Tensor)   # what the closure returned first, as PyTorch's
        np.testing.assert_allclose(float(loss), tloss.item(), rtol=1e-10, err_msg=f"step {step}")
        for k, (p, tp) in enumerate(zip(params, tparams)):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=f"step {step} {k}")
    assert params[2].grad is None
    np.testing.assert_array_equal(params[2].data, np.ones(3))
    assert opt.state[id(params[0])]["d"].shape == (8 + 2 + 3,)


# ----------------------------------------------------------------------------- by hand
def _bfgs_inverse_hessian(stps, dirs, h_diag):
    """The L-BFGS matrix, built explicitly: ``H = V^T H V + rho s s^T`` for each pair, oldest
    first, from ``H0 = h_diag I`` (``V = I - rho y s^T``; Nocedal and Wright, 7.19)."""
    n = stps[0].size
    H = h_diag * np.eye(n)
    for s, y in zip(stps, dirs):
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@pytest.mark.parametrize("history_size", [2, 10])
def test_the_direction_is_the_explicit_bfgs_matrix_times_the_gradient(xp, history_size):
    """The two loops compute ``-H g`` without H: after 7 iterations on Rosenbrock's function
    in 4-D, the last direction equals the matrix built from the kept pairs, times the gradient
    it was computed at, on every backend; the pairs are the parameters' last steps and their
    gradients' changes (recorded by the closure)."""
    seen = []
    p = nn.Parameter(xp.asarray([-1.2, 1.0, -0.5, 0.8]))
    opt = LBFGS([p], lr=0.02, max_iter=7, history_size=history_size, tolerance_change=0.0)

    def closure():
        f, g = _rosenbrock(to_np(p.data))
        seen.append((to_np(p.data).copy(), g))
        p.grad = xp.asarray(g)
        return f

    opt.step(closure)
    state = opt.state[id(p)]
    stps, dirs = [to_np(s) for s in state["old_stps"]], [to_np(y) for y in state["old_dirs"]]
    assert len(seen) == 7 and len(stps) == min(history_size, 6)
    # the pairs are the last steps and changes of gradient (the 7th point is the step's end,
    # never evaluated without a search: the last iteration's closure call is the next step's)
    xs, gs = [x for x, _ in seen], [g for _, g in seen]
    for k, (s, y) in enumerate(zip(stps[::-1], dirs[::-1])):
        np.testing.assert_allclose(s, xs[-1 - k] - xs[-2 - k], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(y, gs[-1 - k] - gs[-2 - k], rtol=1e-12, atol=1e-15)
    H = _bfgs_inverse_hessian(stps, dirs, (dirs[-1] @ stps[-1]) / (dirs[-1] @ dirs[-1]))
    np.testing.assert_allclose(float(state["H_diag"]), (dirs[-1] @ stps[-1]) / (dirs[-1] @ dirs[-1]), rtol=1e-13)
    np.testing.assert_allclose(to_np(state["d"]), -H @ gs[-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(to_np(p.data), xs[-1] + 0.02 * to_np(state["d"]), rtol=1e-14)


def test_the_first_step_is_scaled_by_the_gradients_size():
    """PyTorch's first iteration: a step of ``lr * min(1, 1 / sum|g|)`` down the gradient."""
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = LBFGS([p], lr=0.5, max_iter=1)
    g = np.array([4.0, -12.0])

    def closure():
        p.grad = g.copy()
        return 1.0

    assert opt.step(closure) == 1.0
    np.testing.assert_allclose(p.data, np.array([1.0, 2.0]) - 0.5 / 16 * g, rtol=1e-15)
    assert opt.state[id(p)]["func_evals"] == 1 and opt.state[id(p)]["n_iter"] == 1


# ------------------------------------------------------------------------ known minima
def test_reaches_rosenbrocks_minimum_by_autograd():
    """Rosenbrock's function written with minifcn's ops, from the classic start (-1.2, 1) in
    each pair of 6 values: the strong Wolfe search brings it to (1, ..., 1) in two steps, to
    3e-9 (where the slope along the direction, ~1e-15, is too flat to go on), the loss to ~0."""
    x = nn.Parameter(np.array([-1.2, 1.0] * 3))
    opt = LBFGS([x], line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        a, b = x[0::2], x[1::2]   # the sum of 3 independent 2-D Rosenbrocks
        loss = (100 * (b - a * a) ** 2 + (1 - a) ** 2).sum()
        loss.backward()
        return loss

    first = float(opt.step(closure))
    for _ in range(10):
        loss = float(opt.step(closure))
    assert first == pytest.approx(3 * 24.2, rel=1e-14) and loss < 1e-15
    np.testing.assert_allclose(x.data, np.ones(6), atol=1e-8)


@pytest.mark.parametrize("line_search_fn, lr", [(None, 0.5), ("strong_wolfe", 1.0)])
def test_reaches_the_least_squares_solution(line_search_fn, lr):
    """The problem's minimum, NumPy's lstsq, to 1e-9."""
    x = nn.Parameter(np.zeros(6))
    opt = LBFGS([x], lr=lr, line_search_fn=line_search_fn, tolerance_grad=1e-13, tolerance_change=1e-16)

    def closure():
        f, g = _least_squares(x.data)
        x.grad = g
        return f

    for _ in range(10):
        opt.step(closure)
    np.testing.assert_allclose(x.data, np.linalg.lstsq(_A, _B, rcond=None)[0], atol=1e-9)


def test_a_gradient_already_small_stops_at_once_as_torch():
    """``tolerance_grad``: one closure call, no iteration, nothing moved; the state holds the
    two counts alone (PyTorch's)."""
    torch = pytest.importorskip("torch")
    p, tp, opt, topt, closure, tclosure = _twins(torch, "least_squares", np.float64, tolerance_grad=1e3)
    start = p.data.copy()
    assert opt.step(closure) == topt.step(tclosure).item()
    np.testing.assert_array_equal(p.data, start)
    assert opt.state[id(p)] == {"func_evals": 1, "n_iter": 0} and dict(topt.state[tp]) == {"func_evals": 1, "n_iter": 0}


# -------------------------------------------------------------------------- state dict
@pytest.mark.parametrize("line_search_fn, lr", _SETTINGS)
def test_state_dict_round_trip_resumes_identically(tmp_path, line_search_fn, lr):
    """Saved after 3 steps through minifcn.save / load (its lists of arrays and scalars); a
    fresh LBFGS built with other options takes the saved ones and goes on bit for bit as the
    run that went on. Rosenbrock, a history of 3 (full when saved)."""
    fun, x0 = _PROBLEMS["rosenbrock"]

    def make(x, **options):
        p = nn.Parameter(x.copy())
        opt = LBFGS([p], **options)

        def closure():
            f, g = fun(p.data)
            p.grad = g
            return f

        return p, opt, closure

    p, opt, closure = make(x0, lr=lr, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    for _ in range(3):
        opt.step(closure)
    state = save_load({"optimizer": opt.state_dict()}, tmp_path, "lbfgs.npz")["optimizer"]
    assert len(state["state"][0]["old_dirs"]) == 3 and state["state"][0]["n_iter"] > 3
    saved = p.data.copy()
    losses = [opt.step(closure) for _ in range(4)]

    q, opt2, closure2 = make(saved, lr=0.001, max_iter=1, history_size=50)
    opt2.load_state_dict(state)
    assert opt2.param_groups[0]["history_size"] == 3 and opt2.param_groups[0]["line_search_fn"] == line_search_fn
    assert [opt2.step(closure2) for _ in range(4)] == losses
    np.testing.assert_array_equal(q.data, p.data)
    for k, v in opt.state[id(p)].items():
        w = opt2.state[id(q)][k]
        if isinstance(v, list):
            assert len(w) == len(v) and all(np.array_equal(a, b) for a, b in zip(w, v) if a is not None), k
        else:
            assert type(w) is type(v) and np.array_equal(w, v), k


def test_state_dict_layout_is_torchs():
    """The whole state is the first parameter's, "state"[0], PyTorch's keys; the others None."""
    torch = pytest.importorskip("torch")
    params = [nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))]
    tparams = [torch.nn.Parameter(torch.ones(2, dtype=torch.float64)), torch.nn.Parameter(torch.ones(3, dtype=torch.float64))]
    opt, topt = LBFGS(params, max_iter=3), torch.optim.LBFGS(tparams, max_iter=3)
    assert opt.state_dict()["state"] == [None, None]

    def closure(ps, data):   # the gradient of sum((k + 1) p_k^2 / 2)
        for k, p in enumerate(ps):
            p.grad = data(p) * (k + 1.0)
        return 1.0

    opt.step(lambda: closure(params, lambda p: p.data.copy()))
    topt.step(lambda: closure(tparams, lambda p: p.detach().clone()))
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours["state"][0]) == sorted(theirs["state"][0]) and ours["state"][1] is None
    assert list(theirs["state"]) == [0]


def test_load_state_dict_checks_before_changing_anything():
    p = nn.Parameter(np.ones(3))
    opt = LBFGS([p], max_iter=2)

    def closure():
        p.grad = p.data.copy()
        return float((p.data ** 2).sum())

    opt.step(closure)
    before = opt.state_dict()
    other = LBFGS([nn.Parameter(np.ones(2))])
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: the state's d holds a vector of shape \(3,\), "
                                         r"the parameters 2 values"):
        other.load_state_dict(before)
    assert other.state == {}
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: the state has 1 parameters in 1 groups, "
                                         r"this optimizer 2 in 1"):
        LBFGS([nn.Parameter(np.ones(1)), nn.Parameter(np.ones(2))]).load_state_dict(before)
    sgd = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: expected an LBFGS state dict .* "
                                         r"'base_lr', 'groups', 'velocity'"):
        opt.load_state_dict(sgd.state_dict())
    bad = opt.state_dict()
    bad["groups"][0]["history_size"] = 0
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict \(group 0\): history_size must be >= 1, got 0"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["history_size"] == 100 and opt.state[id(p)]["n_iter"] == 1   # max_eval 2: one


# ------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, error, message", [
    ({"lr": -1.0}, ValueError, r"LBFGS: lr must be finite and >= 0, got -1.0"),
    ({"max_iter": 0}, ValueError, r"LBFGS: max_iter must be >= 1, got 0"),
    ({"max_iter": 2.5}, TypeError, r"LBFGS: max_iter must be an int, got 2.5"),
    ({"max_eval": 0}, ValueError, r"LBFGS: max_eval must be >= 1, got 0"),
    ({"history_size": True}, TypeError, r"LBFGS: history_size must be an int, got True"),
    ({"tolerance_grad": -1e-7}, ValueError, r"LBFGS: tolerance_grad must be finite and >= 0, got -1e-07"),
    ({"tolerance_change": float("nan")}, ValueError, r"LBFGS: tolerance_change must be finite and >= 0, got nan"),
    ({"line_search_fn": "armijo"}, ValueError, r"LBFGS: line_search_fn must be None or 'strong_wolfe', got 'armijo'"),
])
def test_option_errors_name_the_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        LBFGS([nn.Parameter(np.ones(2))], **kwargs)


def test_torch_refuses_a_negative_lr_and_an_unknown_line_search():
    """PyTorch refuses a negative lr when built, an unknown line search at the first step
    (here when built)."""
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError):
        torch.optim.LBFGS([torch.nn.Parameter(torch.ones(2))], lr=-1.0)
    tp = torch.nn.Parameter(torch.ones(2))
    topt = torch.optim.LBFGS([tp], line_search_fn="armijo")

    def tclosure():
        tp.grad = torch.ones(2)
        return torch.tensor(1.0)

    with pytest.raises(RuntimeError, match="strong_wolfe"):
        topt.step(tclosure)


def test_default_max_eval_is_torchs():
    torch = pytest.importorskip("torch")
    for max_iter in (1, 4, 20, 33):
        ours = LBFGS([nn.Parameter(np.ones(1))], max_iter=max_iter).param_groups[0]["max_eval"]
        assert ours == torch.optim.LBFGS([torch.nn.Parameter(torch.ones(1))], max_iter=max_iter).param_groups[0]["max_eval"]


def test_one_group_one_dtype_and_a_closure():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=r"LBFGS: takes one parameter group \(as PyTorch's\), got 2"):
        LBFGS([{"params": [a]}, {"params": [b]}])
    opt = LBFGS([{"params": [a, b], "lr": 0.5}])
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="LBFGS.add_param_group: LBFGS takes one parameter group"):
        opt.add_param_group({"params": [nn.Parameter(np.ones(1))]})
    with pytest.raises(ValueError, match=r"LBFGS: the parameters must share one dtype and one device, got "
                                         r"\[\('float32', 'cpu'\), \('float64', 'cpu'\)\]"):
        LBFGS([a, nn.Parameter(np.ones(2, dtype=np.float32))])
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'closure'"):
        opt.step()
    with pytest.raises(TypeError, match=r"LBFGS.step: closure must be a function .* got None"):
        opt.step(None)
    with pytest.raises(TypeError, match=r"LBFGS.step: the closure returned None; expected it to return the loss"):
        opt.step(lambda: None)
    with pytest.raises(ValueError, match="LBFGS: no parameter requires grad"):
        LBFGS([nn.Parameter(np.ones(2), requires_grad=False)])


def test_a_parameter_unfrozen_after_building_is_said_not_stepped():
    """As the other optimizers: left out, and a warning (pointing at the caller's line) at the
    first step where it has a gradient, once."""
    import warnings
    p, frozen = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3), requires_grad=False)
    opt, adam = LBFGS([p, frozen], max_iter=1), minifcn.optim.Adam([p, frozen])
    frozen.requires_grad_(True)

    def closure():
        p.grad, frozen.grad = np.ones(2), np.ones(3)
        return 1.0

    for o in (opt, adam):
        with pytest.warns(UserWarning, match=rf"{type(o).__name__}: 1 parameter\(s\) of shape \(3,\) were frozen") as seen:
            o.step(closure)
        assert seen[0].filename == __file__
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # said once
            o.step(closure)
    np.testing.assert_array_equal(frozen.data, np.ones(3))
    assert opt.state[id(p)]["d"].shape == (2,)


def test_found_in_minifcn_optim():
    assert minifcn.optim.LBFGS is LBFGS
