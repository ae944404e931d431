"""seq2seq-attention: the reference equals a separately written version (an explicit loop for
the encoder, einsum for the attention), and its attention behaves as dot-product attention must."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("seq2seq-attention")


def independent(p, T):
    h = p.h0[:, 0]
    states = []
    for t in range(T):
        h = np.tanh(np.einsum("hi,i->h", p.Wx, p.X[:, t]) + np.einsum("hk,k->h", p.Wh, h) + p.b[:, 0])
        states.append(h)
    H = np.stack(states, axis=1)
    s = np.tanh(np.einsum("hi,i->h", p.Ux, p.y0[:, 0]) + np.einsum("hk,k->h", p.Uh, h) + p.c[:, 0])
    scores = np.einsum("ht,h->t", H, s)
    weights = np.exp(scores) / np.exp(scores).sum()
    context = np.einsum("ht,t->h", H, weights)
    att = np.tanh(np.einsum("hk,k->h", p.Wc, np.concatenate([context, s])))
    return dict(H=H, sd=s, e=scores, alpha=weights, ctx=context, att=att)


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(sets={"d_in": 1, "d_h": 3, "T": 2}, seed=3),
         dict(sets={"d_in": 5, "d_h": 2, "T": 7}, seed=4)]


@pytest.mark.parametrize("case", CASES)
def test_reference_equals_independent_version(case):
    r = resolve(EX, **case)
    ref = EX.reference(r.dims, r.params)
    other = independent(r.params, r.dims.T)
    for key, value in other.items():
        assert np.allclose(np.asarray(ref[key]).reshape(value.shape), value, rtol=1e-12, atol=1e-12), key


def test_context_is_a_weighted_average_of_encoder_states():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    a = ref["alpha"][:, 0]
    assert a.sum() == pytest.approx(1.0) and (a > 0).all()
    assert np.allclose(ref["ctx"][:, 0], sum(a[t] * ref[f"h_{t + 1}"][:, 0] for t in range(r.dims.T)))
    assert np.allclose(ref["H"][:, -1:], ref["ud"][r.dims.d_in:])  # the decoder starts from h_T


def test_bad_shape_is_a_clear_error(tmp_path):
    message = rejected_build(tmp_path, "seq2seq-attention", params="exercise: seq2seq-attention\n"
                             "dims: {d_in: 2, d_h: 2, T: 3}\nvalues:\n  Wc: [[1, 0], [0, 1]]\n")
    assert "'Wc'" in message and "2x4" in message
