"""mamba: the plain-loop reference against Mamba's reference implementation (selective_scan_ref,
transcribed with einsum), against a scan-free closed form of the recurrence, and (zoh) against the
continuous system integrated numerically; softplus with the natural log; the default numbers'
facts; every option building and verifying; a zero in A refused, a positive A accepted."""
from __future__ import annotations

import numpy as np
import pytest
from support import assert_verified, build, formula_texts, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("mamba")


def selective_scan_ref(u, delta, A, B, C, D=None, z=None):
    """mamba_ssm.ops.selective_scan_interface.selective_scan_ref for one sequence (no batch): u, delta
    (d×L), A (d×n), B, C (n×L), D (d), z (d×L); the delta already through softplus."""
    deltaA = np.exp(np.einsum("dl,dn->dln", delta, A))
    deltaB_u = np.einsum("dl,nl,dl->dln", delta, B, u)
    x = np.zeros(A.shape)
    ys = []
    for i in range(u.shape[1]):
        x = deltaA[:, i] * x + deltaB_u[:, i]
        ys.append(np.einsum("dn,n->d", x, C[:, i]))
    y = np.stack(ys, axis=1)
    out = y if D is None else y + u * D[:, None]
    return out if z is None else out * (z / (1 + np.exp(-z)))


def scan_free(Abar_exponent, BU, C):
    """h_l = Σ_{k ≤ l} exp(A·(T_l − T_k)) ⊙ BU_k with T the running sum of Δ: every state at once, no
    recurrence; then y_l = h_l·c_l. ``Abar_exponent`` is (d, n, L) Δ[d, l]·A[d, n]."""
    T = np.cumsum(Abar_exponent, axis=2)
    decay = np.exp(T[:, :, :, None] - T[:, :, None, :])  # [d, n, l, k]
    L = BU.shape[2]
    causal = np.tril(np.ones((L, L)))
    h = np.einsum("dnlk,lk,dnk->dnl", decay, causal, BU)
    return np.einsum("dnl,nl->dl", h, C), h


def real_numbers(d: Dims, seed: int, positive_A: bool = False) -> Params:
    rng = np.random.default_rng(seed)
    n = lambda *shape: rng.normal(size=shape)  # noqa: E731
    A = rng.uniform(0.2, 1.5, size=(d.D, d.N)) * (1 if positive_A else -1)
    return Params(U=n(d.D, d.L), W_B=n(d.N, d.D), W_C=n(d.N, d.D), w_dt=0.5 * n(1, d.D), dt_bias=n(d.D, 1),
                  A=A, Dskip=n(d.D, 1), Z=n(d.D, d.L))


SIZES = [EX.presets["small"], EX.presets["medium"], EX.presets["large"], dict(D=1, N=3, L=5), dict(D=3, N=1, L=2)]


@pytest.mark.parametrize("gated", [True, False])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_euler_form_is_the_reference_implementations_recurrence(size, gated):
    d = Dims(size)
    p = real_numbers(d, sum(size.values()))
    ref = EX.reference(d, p, discretize="euler", gated=gated)
    delta = np.log1p(np.exp(p.w_dt @ p.U + p.dt_bias))
    np.testing.assert_allclose(ref["Delta"], delta, rtol=1e-12)
    expected = selective_scan_ref(p.U, delta, p.A, p.W_B @ p.U, p.W_C @ p.U,
                                  p.Dskip[:, 0] if gated else None, p.Z if gated else None)
    np.testing.assert_allclose(ref["Out"], expected, rtol=1e-10, atol=1e-12)
    # the same states without a recurrence
    exponent = np.einsum("dl,dn->dnl", delta, p.A)
    BU = np.einsum("dl,nl,dl->dnl", delta, p.W_B @ p.U, p.U)
    Y, h = scan_free(exponent, BU, p.W_C @ p.U)
    np.testing.assert_allclose(ref["Y"], Y, rtol=1e-10, atol=1e-12)
    for l in range(1, d.L + 1):
        np.testing.assert_allclose(ref[f"h_{l}"], h[:, :, l - 1], rtol=1e-10, atol=1e-12)


def integrate(p, delta, B, steps=400):
    """dh/dt = A ⊙ h + B[n]·u[d] over each position's time step Δ[d, l], with u held (zero-order hold),
    integrated by the classical Runge–Kutta method; returns the states after every position."""
    h = np.zeros(p.A.shape)
    states = []
    for l in range(p.U.shape[1]):
        dt = delta[:, l:l + 1] / steps
        drive = B[None, :, l] * p.U[:, l:l + 1]
        f = lambda x: p.A * x + drive  # noqa: E731
        for _ in range(steps):
            k1 = f(h)
            k2 = f(h + dt / 2 * k1)
            k3 = f(h + dt / 2 * k2)
            k4 = f(h + dt * k3)
            h = h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        states.append(h.copy())
    return states


@pytest.mark.parametrize("positive_A", [False, True])
@pytest.mark.parametrize("size", SIZES[:3], ids=str)
def test_zoh_form_is_the_exact_solution_of_the_continuous_system(size, positive_A):
    d = Dims(size)
    p = real_numbers(d, 7 + sum(size.values()), positive_A)
    ref = EX.reference(d, p, discretize="zoh")
    delta, B = ref["Delta"], p.W_B @ p.U
    for l, h in enumerate(integrate(p, delta, B), start=1):
        np.testing.assert_allclose(ref[f"h_{l}"], h, rtol=1e-8, atol=1e-9)
    # and the closed form e^{ΔA}·h + (e^{ΔA} − 1)/A·B·u, one position
    closed = (np.exp(delta[:, :1] * p.A) - 1) / p.A * B[None, :, 0] * p.U[:, :1]
    np.testing.assert_allclose(ref["BU_1"], closed, rtol=1e-12)


def test_softplus_uses_the_natural_log(tmp_path):
    """The hand-made sheets' mistake: softplus(x) = ln(1 + e^x), not log10."""
    r = resolve(EX, params_path=None)
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_allclose(ref["Delta"], np.log(1 + np.exp(ref["Dt_pre"])), rtol=1e-12)
    path = build(tmp_path, "mamba")
    texts = formula_texts(path)
    assert any("LN(1+EXP(" in f for f in texts) and not any("LOG" in f for f in texts)


def test_default_numbers():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    assert (r.params.A < 0).all()
    Abar = np.concatenate([ref[f"Abar_{l}"].ravel() for l in (1, 2, 3)])
    assert 0 < Abar.min() and Abar.max() < 1  # a decay: the state forgets a little at every step
    assert (np.ptp(ref["Delta"], axis=1) > 0.5).all()  # Δ changes along the sequence: the selection
    assert not np.allclose(ref["Delta"][0], ref["Delta"][1])  # and differs between the channels
    assert ref["Delta"][0, 1] == pytest.approx(np.log(2))  # Dt_pre = 0 there: softplus(0) = ln 2
    assert EX.accept(r.dims, r.params)


@pytest.mark.parametrize("discretize", ["euler", "zoh"])
@pytest.mark.parametrize("gated", [True, False])
def test_every_option_builds_and_verifies(tmp_path, discretize, gated):
    assert_verified(build(tmp_path, "mamba", options={"discretize": discretize, "gated": gated}))


def test_a_positive_A_from_a_params_file_builds(tmp_path):
    path = build(tmp_path, "mamba", params_path=_params(tmp_path, {"A": [[0.5, 1], [0.25, 0.5]]}),
                 options={"discretize": "zoh"})
    assert_verified(path)


def test_a_zero_in_A_is_refused(tmp_path):
    line = rejected_build(tmp_path, "mamba", "--opt", "discretize=zoh", params={"values": {"A": [[-1, 0], [-1, -1]]}})
    assert "'A'" in line and "[1, 2]" in line and "Δ·A" in line


def test_an_unknown_discretization_is_refused(tmp_path):
    line = rejected_build(tmp_path, "mamba", "--opt", "discretize=rk4")
    assert "discretize" in line and "euler" in line and "zoh" in line


def _params(tmp_path, values):
    import yaml

    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"exercise": "mamba", "values": values}))
    return path
