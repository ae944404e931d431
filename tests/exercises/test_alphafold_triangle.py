"""alphafold-triangle's NumPy reference against an einsum version written from AF2's Algorithms 11
and 12 (the whole pair tensor at once), both directions (the option direction); a bad direction is
refused."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from support import rejected_build

from xlhand.model import catalog
from xlhand.cli import cli
from xlhand.model.resolve import resolve

EX = catalog.get("alphafold-triangle")


def triangle_einsum(p, direction):
    z = np.einsum("icj->ijc", np.asarray(p.Zp, dtype=float))          # z[i, j] is the c_z-vector z_ij
    ln = lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    sig = lambda x: 1 / (1 + np.exp(-x))
    lin = lambda W, b, x: np.einsum("dc,ijc->ijd", W, x) + b.ravel()
    zh = ln(z)
    a = sig(lin(p.Wag, p.bag, zh)) * lin(p.Wa, p.ba, zh)
    b = sig(lin(p.Wbg, p.bbg, zh)) * lin(p.Wb, p.bb, zh)
    g = sig(lin(p.Wg, p.bg, zh))
    t = np.einsum("ikc,jkc->ijc", a, b) if direction == "outgoing" else np.einsum("kic,kjc->ijc", a, b)
    return g * lin(p.Wz, p.bz, ln(t)), t


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=3),
         dict(sets={"r": 2, "c_z": 3, "c": 1}, seed=5)]


@pytest.mark.parametrize("direction", ["outgoing", "incoming"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_matches_einsum(case, direction):
    r = resolve(EX, **case)
    ref = EX.reference(r.dims, r.params, direction=direction)
    zout, t = triangle_einsum(r.params, direction)
    for i in range(r.dims.r):
        np.testing.assert_allclose(ref[f"t_{i + 1}"], t[i].T, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ref[f"Zout_{i + 1}"], zout[i].T, rtol=1e-10, atol=1e-12)


def test_directions_differ_and_products_are_the_triangle_edges():
    r = resolve(EX)
    out = EX.reference(r.dims, r.params)
    inc = EX.reference(r.dims, r.params, direction="incoming")
    assert r.options == {"direction": "outgoing"}
    assert np.abs(out["Zout_1"] - inc["Zout_1"]).max() > 0.5
    # outgoing: column k of ab_i_j is a_ik ⊙ b_jk; incoming: a_ki ⊙ b_kj
    np.testing.assert_allclose(out["ab_1_3"][:, 1], out["a_1"][:, 1] * out["b_3"][:, 1])
    np.testing.assert_allclose(inc["ab_1_3"][:, 1], inc["a_2"][:, 0] * inc["b_2"][:, 2])


@pytest.mark.slow  # the formulas engine over the whole sheet
def test_incoming_builds_and_verifies(tmp_path):
    from support import assert_verified
    params = tmp_path / "p.yaml"
    params.write_text(yaml.safe_dump({"exercise": "alphafold-triangle", "options": {"direction": "incoming"}}))
    result = CliRunner().invoke(cli, ["build", "alphafold-triangle", "--params", str(params), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert_verified(tmp_path / "alphafold-triangle.xlsx")


@pytest.mark.parametrize("bad", ["sideways", "Outgoing", 3])
def test_bad_direction_is_refused(tmp_path, bad):
    message = rejected_build(tmp_path, "alphafold-triangle",
                             params={"exercise": "alphafold-triangle", "options": {"direction": bad}})
    assert "direction" in message and "outgoing" in message and "incoming" in message
    message = rejected_build(tmp_path / "cli", "alphafold-triangle", "--opt", f"direction={bad}")
    assert "direction" in message and "outgoing" in message and "incoming" in message
