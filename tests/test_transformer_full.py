"""transformer-full: the reference against a second formulation (tokens as rows, einsum, the positional
encoding in its closed form, LayerNorm through numpy.var), the layer-norm options by hand, the
causal mask and the rectangular cross-attention, the next word as a text cell computed by formulas,
every option building and verifying, and bad input refused."""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from support import assert_verified, build, formula_texts, rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.model.resolve import resolve

EX = catalog.get("transformer-full")


def closed_form_pe(n, d):
    pe = np.zeros((n, d))
    for pos in range(n):
        for k in range(d):
            angle = pos / 10000 ** ((2 * (k // 2)) / d)
            pe[pos, k] = math.sin(angle) if k % 2 == 0 else math.cos(angle)
    return pe


def norm_rows(x, gamma, beta, eps, eps_on, var):
    v = x.var(axis=1, ddof=1 if var == "sample" else 0, keepdims=True)
    sigma = np.sqrt(v + eps) if eps_on == "var" else np.sqrt(v) + eps
    return (x - x.mean(axis=1, keepdims=True)) / sigma * gamma[:, 0] + beta[:, 0]


def attention_rows(q_in, kv_in, Wq, Wk, Wv, Wo, causal):
    heads = []
    for wq, wk, wv in zip(Wq, Wk, Wv):
        q, k, v = (np.einsum("td,ed->te", x, w) for x, w in ((q_in, wq), (kv_in, wk), (kv_in, wv)))
        logits = np.einsum("qe,ke->qk", q, k) / math.sqrt(wq.shape[0])
        if causal:
            logits = np.where(np.triu(np.ones(logits.shape, dtype=bool), 1), -np.inf, logits)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        heads.append(np.einsum("qk,ke->qe", w / w.sum(axis=1, keepdims=True), v))
    return np.einsum("th,dh->td", np.hstack(heads), Wo)


def rows_model(p, d, pe, eps_on, var):
    """Encoder and decoder, one token a row, as the paper draws them; returns memory, decoder output, P."""
    vocab = list(p.vocab_words)
    norm = lambda x, g, b: norm_rows(x, g, b, p.ln_eps, eps_on, var)  # noqa: E731
    ffn = lambda x, side: np.maximum(x @ p[f"{side}_W1"].T + p[f"{side}_b1"][:, 0], 0) @ p[f"{side}_W2"].T \
        + p[f"{side}_b2"][:, 0]  # noqa: E731
    positions = {"sinusoid": closed_form_pe(max(d.n_src, d.n_tgt), d.d), "given": p.PE.T, "none": None}[pe]
    embed = lambda words: np.array([p.Emb[:, vocab.index(w)] for w in words])  # noqa: E731
    x = embed(p.src) + (0 if positions is None else positions[: d.n_src])
    x = norm(x + attention_rows(x, x, p.enc_Wq, p.enc_Wk, p.enc_Wv, p.enc_Wo, False), p.enc_gamma1, p.enc_beta1)
    memory = norm(x + ffn(x, "enc"), p.enc_gamma2, p.enc_beta2)
    y = embed(p.tgt) + (0 if positions is None else positions[: d.n_tgt])
    y = norm(y + attention_rows(y, y, p.dec_Wq, p.dec_Wk, p.dec_Wv, p.dec_Wo, True), p.dec_gamma1, p.dec_beta1)
    y = norm(y + attention_rows(y, memory, p.dec_cWq, p.dec_cWk, p.dec_cWv, p.dec_cWo, False),
             p.dec_gamma2, p.dec_beta2)
    y = norm(y + ffn(y, "dec"), p.dec_gamma3, p.dec_beta3)
    logits = y @ p.Wout.T
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return memory, y, e / e.sum(axis=1, keepdims=True)


OPTIONS = [dict(), dict(pe="given"), dict(pe="none"), dict(ln_eps_on="std"), dict(ln_var="sample"),
           dict(pe="given", ln_eps_on="std", ln_var="sample")]
CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=6),
         dict(sets={"vocab": 5, "n_src": 4, "n_tgt": 2, "d": 3, "heads": 3, "d_k": 1, "d_ff": 2}, seed=3)]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_against_the_row_formulation(case, options):
    r = resolve(EX, **case)
    full = {"pe": "sinusoid", "ln_eps_on": "var", "ln_var": "population", **options}
    ref = EX.reference(r.dims, r.params, **full)
    memory, out, P = rows_model(r.params, r.dims, full["pe"], full["ln_eps_on"], full["ln_var"])
    np.testing.assert_allclose(ref["enc_N2"], memory.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref["dec_N3"], out.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref["P"], P.T, rtol=1e-9, atol=1e-12)
    vocab = list(r.params.vocab_words)
    assert ref["next_word"] == vocab[int(np.argmax(P[-1]))]


def test_layer_norm_options_by_hand():
    """One column [1, 2, 6]: mean 3, squared deviations 4 + 1 + 9 = 14."""
    from xlhand.exercises.transformer_full import layer_norm

    R = np.array([[1.0], [2.0], [6.0]])
    one, zero = np.ones((3, 1)), np.zeros((3, 1))
    eps = 0.01
    assert layer_norm(R, one, zero, eps, "var", "population")[2, 0] == pytest.approx(3 / math.sqrt(14 / 3 + eps))
    assert layer_norm(R, one, zero, eps, "var", "sample")[2, 0] == pytest.approx(3 / math.sqrt(14 / 2 + eps))
    assert layer_norm(R, one, zero, eps, "std", "population")[2, 0] == pytest.approx(3 / (math.sqrt(14 / 3) + eps))
    assert layer_norm(R, 2 * one, one, eps, "std", "sample")[0, 0] == pytest.approx(2 * -2 / (math.sqrt(7) + eps) + 1)


def test_default_numbers_the_mask_and_the_cross_scores():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    assert r.params.src == ["I", "love", "you"] and r.params.tgt == ["<s>", "ich", "liebe"]
    ref = EX.reference(r.dims, r.params)
    assert ref["pred"] == [["ich", "liebe", "dich"]] and ref["next_word"] == "dich"
    for h in (1, 2):
        assert np.allclose(np.tril(ref[f"dec_A_{h}"], -1), 0)  # no query attends to a later key
        assert ref[f"dec_cS_{h}"].shape == (r.dims.n_src, r.dims.n_tgt)
    np.testing.assert_allclose(ref["PEs"], closed_form_pe(3, 4).T, atol=1e-15)


def test_the_next_word_is_a_text_cell_computed_by_formulas(tmp_path):
    path = build(tmp_path, "transformer-full")
    wb = readback.load(path, data_only=True)
    ranges = readback.block_ranges(wb)
    assert readback.read_block(wb, ranges["next_word"]) == [["dich"]]
    assert readback.read_block(wb, ranges["pred"]) == [["ich", "liebe", "dich"]]
    formulas = readback.load(path)
    cell = readback.read_block(formulas, ranges["next_word"])[0][0]
    assert cell.startswith("=INDEX(") and "MATCH(MAX(" in cell
    assert any(f.startswith("=IF(") and "=" in f[4:] for f in formula_texts(path))  # the one-hot lookups


@pytest.mark.parametrize("options", OPTIONS[1:5], ids=str)
def test_every_option_builds_and_verifies(tmp_path, options):
    assert_verified(build(tmp_path, "transformer-full", options=options))


def test_a_given_positional_encoding_from_a_params_file(tmp_path):
    params = tmp_path / "mine.yaml"
    params.write_text(yaml.safe_dump({"options": {"pe": "given"},
                                      "values": {"PE": [[0, 1, 2], [1, 0, -1], [0, 0.5, 1], [1, 1, 1]]}}))
    path = build(tmp_path, "transformer-full", params_path=params)
    assert_verified(path, ("ironcalc",))
    assert readback.read_metadata(readback.load(path), path)["options"]["pe"] == "given"


@pytest.mark.parametrize("key,words,missing", [("src", ["I", "hate", "you"], "hate"),
                                               ("tgt", ["<s>", "ich", "hasse"], "hasse")])
def test_a_word_missing_from_the_vocabulary_is_refused(tmp_path, key, words, missing):
    line = rejected_build(tmp_path, "transformer-full", params={"values": {key: words}})
    assert f"'{key}'" in line and f"'{missing}'" in line and "vocab" in line


@pytest.mark.parametrize("option,value", [("pe", "learned"), ("ln_eps_on", "both"), ("ln_var", "unbiased")])
def test_an_unknown_option_value_is_refused(tmp_path, option, value):
    line = rejected_build(tmp_path, "transformer-full", "--opt", f"{option}={value}")
    assert option in line and value in line
