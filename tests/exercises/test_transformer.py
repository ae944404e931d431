"""transformer: the reference equals a separately written einsum version of the encoder block
(tokens as rows, as in the paper), and its positional encoding equals the closed form."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("transformer")


def closed_form_pe(n, d):
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)); one row a position."""
    pe = np.zeros((n, d))
    for pos in range(n):
        for k in range(d):
            angle = pos / 10000 ** ((2 * (k // 2)) / d)
            pe[pos, k] = math.sin(angle) if k % 2 == 0 else math.cos(angle)
    return pe


def layer_norm_rows(x, eps=1e-5):
    mu = np.einsum("td->t", x) / x.shape[1]
    c = x - mu[:, None]
    var = np.einsum("td,td->t", c, c) / x.shape[1]
    return c / np.sqrt(var + eps)[:, None]


def encoder_block(p, n, d):
    """Row convention (token t is row t), einsum throughout."""
    x = p.X.T + closed_form_pe(n, d)
    q = np.einsum("td,ed->te", x, p.Wq)
    k = np.einsum("td,ed->te", x, p.Wk)
    v = np.einsum("td,ed->te", x, p.Wv)
    logits = np.einsum("qe,ke->qk", q, k) / math.sqrt(d)  # one row per query
    w = np.exp(logits - logits.max(axis=1, keepdims=True))
    w = w / w.sum(axis=1, keepdims=True)
    att = np.einsum("qk,ke->qe", w, v)
    n1 = layer_norm_rows(x + att)
    hidden = np.maximum(np.einsum("td,fd->tf", n1, p.W1) + p.b1[:, 0], 0)
    ffn = np.einsum("tf,df->td", hidden, p.W2) + p.b2[:, 0]
    return dict(PE=closed_form_pe(n, d), A=w, F=att, N1=n1, Hf=hidden, N2=layer_norm_rows(n1 + ffn))


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(sets={"n": 5, "d": 3, "d_ff": 2}, seed=4),
         dict(sets={"n": 2, "d": 2, "d_ff": 1}, seed=5)]


@pytest.mark.parametrize("case", CASES)
def test_reference_equals_einsum_version(case):
    r = resolve(EX, **case)
    ref = EX.reference(r.dims, r.params)
    other = encoder_block(r.params, r.dims.n, r.dims.d)
    for key in ("PE", "A", "F", "N1", "Hf", "N2"):
        assert np.allclose(ref[key], other[key].T, rtol=1e-12, atol=1e-12), key


def test_positional_encoding_closed_form_values():
    r = resolve(EX, sets={"n": 4, "d": 6, "d_ff": 2}, seed=1)
    PE = EX.reference(r.dims, r.params)["PE"]
    assert np.allclose(PE[:, 0], [0, 1, 0, 1, 0, 1])  # position 0: sin 0 = 0, cos 0 = 1
    assert PE[0, 1] == pytest.approx(math.sin(1))  # row 0 has frequency 1
    assert PE[2, 3] == pytest.approx(math.sin(3 / 10000 ** (2 / 6)))
    assert PE[5, 2] == pytest.approx(math.cos(2 / 10000 ** (4 / 6)))


def test_bad_shape_is_a_clear_error(tmp_path):
    message = rejected_build(tmp_path, "transformer", params="exercise: transformer\n"
                             "dims: {n: 2, d: 4, d_ff: 4}\nvalues:\n  Wq: [[1, 0], [0, 1]]\n")
    assert "'Wq'" in message and "4x4" in message
