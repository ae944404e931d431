"""transformer-full: the reference against a second formulation (tokens as rows, einsum, the positional
encoding in its closed form, LayerNorm through numpy.var), the layer-norm options by hand, the
causal mask and the rectangular cross-attention, the next word as a text cell computed by formulas,
every option building and verifying, a decoder with its own width, vocabulary, embedding and head
counts, the additive mask as −∞ and as a value (−99), and bad input refused."""
from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import yaml
from support import assert_verified, build, formula_texts, rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.build import key_sheet
from xlhand.model.givens import Dims
from xlhand.model.resolve import Resolved, draw, resolve

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


def attention_rows(q_in, kv_in, Wq, Wk, Wv, Wo, causal, mask_value=None):
    """Heads one token a row; causal: a later key gets −∞ (its weight replaced by 0) or, with
    ``mask_value``, that number added to its logit."""
    heads = []
    for wq, wk, wv in zip(Wq, Wk, Wv):
        q, k, v = (np.einsum("td,ed->te", x, w) for x, w in ((q_in, wq), (kv_in, wk), (kv_in, wv)))
        logits = np.einsum("qe,ke->qk", q, k) / math.sqrt(wq.shape[0])
        if causal:
            later = np.triu(np.ones(logits.shape, dtype=bool), 1)
            logits = np.where(later, -np.inf, logits) if mask_value is None else logits + mask_value * later
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        heads.append(np.einsum("qk,ke->qe", w / w.sum(axis=1, keepdims=True), v))
    return np.einsum("th,dh->td", np.hstack(heads), Wo)


def rows_model(p, d, pe, eps_on, var, mask="inf"):
    """Encoder and decoder, one token a row, as the paper draws them (each side its own vocabulary,
    embedding, width and positions); returns memory, decoder output, P."""
    mask_value = None if mask == "inf" else p.mask_value
    norm = lambda x, g, b: norm_rows(x, g, b, p.ln_eps, eps_on, var)  # noqa: E731
    ffn = lambda x, side: np.maximum(x @ p[f"{side}_W1"].T + p[f"{side}_b1"][:, 0], 0) @ p[f"{side}_W2"].T \
        + p[f"{side}_b2"][:, 0]  # noqa: E731
    def positions(n, width):
        return {"sinusoid": closed_form_pe(n, width), "given": p.PE[:width, :n].T, "none": 0}[pe]

    def embed(words, E, vocab):
        return np.array([E[:, list(vocab).index(w)] for w in words])

    x = embed(p.src, p.Emb, p.vocab_words) + positions(d.n_src, d.d)
    x = norm(x + attention_rows(x, x, p.enc_Wq, p.enc_Wk, p.enc_Wv, p.enc_Wo, False), p.enc_gamma1, p.enc_beta1)
    memory = norm(x + ffn(x, "enc"), p.enc_gamma2, p.enc_beta2)
    y = embed(p.tgt, p.dec_Emb, p.dec_vocab_words) + positions(d.n_tgt, d.d_dec)
    y = norm(y + attention_rows(y, y, p.dec_Wq, p.dec_Wk, p.dec_Wv, p.dec_Wo, True, mask_value),
             p.dec_gamma1, p.dec_beta1)
    y = norm(y + attention_rows(y, memory, p.dec_cWq, p.dec_cWk, p.dec_cWv, p.dec_cWo, False),
             p.dec_gamma2, p.dec_beta2)
    y = norm(y + ffn(y, "dec"), p.dec_gamma3, p.dec_beta3)
    logits = y @ p.Wout.T
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return memory, y, e / e.sum(axis=1, keepdims=True)


OPTIONS = [dict(), dict(pe="given"), dict(pe="none"), dict(ln_eps_on="std"), dict(ln_var="sample"),
           dict(pe="given", ln_eps_on="std", ln_var="sample"), dict(mask="value"),
           dict(pe="given", mask="value")]
# the structure of a hand-made sheet: encoder d = 5 with 2 heads, decoder d = 6 with 3 masked heads
# and 2 cross heads, each side its own vocabulary
OWN_DECODER = {"d": 5, "heads": 2, "d_dec": 6, "heads_dec": 3, "heads_x": 2, "vocab_dec": 10}
CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=6),
         dict(sets={"vocab": 5, "n_src": 4, "n_tgt": 2, "d": 3, "heads": 3, "d_k": 1, "d_ff": 2, "vocab_dec": 5,
                    "d_dec": 3, "heads_dec": 3, "heads_x": 3}, seed=3),
         dict(sets=OWN_DECODER, seed=1), dict(sets={**OWN_DECODER, "d": 6, "d_dec": 3, "vocab_dec": 6}, seed=4)]


# every case with the default options and every option with the default case in the fast tier; the rest slow
ROW_CASES = [pytest.param(case, options, id=f"{case}-{options}", marks=[] if k == 0 or m == 0 else [pytest.mark.slow])
             for k, case in enumerate(CASES) for m, options in enumerate(OPTIONS)]


@pytest.mark.parametrize("case, options", ROW_CASES)
def test_reference_against_the_row_formulation(case, options):
    r = resolve(EX, **case)
    full = {"pe": "sinusoid", "ln_eps_on": "var", "ln_var": "population", "mask": "inf", **options}
    ref = EX.reference(r.dims, r.params, **full)
    memory, out, P = rows_model(r.params, r.dims, full["pe"], full["ln_eps_on"], full["ln_var"], full["mask"])
    np.testing.assert_allclose(ref["enc_N2"], memory.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref["dec_N3"], out.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref["P"], P.T, rtol=1e-9, atol=1e-12)
    vocab = list(r.params.dec_vocab_words)
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


@pytest.mark.slow
@pytest.mark.parametrize("options", OPTIONS[1:5] + OPTIONS[6:7], ids=str)
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


# --- a decoder of its own ------------------------------------------------------------------------
def test_the_decoder_has_its_own_sizes():
    r = resolve(EX, sets=OWN_DECODER, seed=1)
    p, ref = r.params, EX.reference(r.dims, r.params)
    assert p.Emb.shape == (5, 8) and p.dec_Emb.shape == (6, 10) and len(p.dec_vocab_words) == 10
    assert len(p.enc_Wq) == 2 and len(p.dec_Wq) == 3 and len(p.dec_cWq) == 2
    assert p.dec_cWq[0].shape == (2, 6) and p.dec_cWk[0].shape == (2, 5) and p.dec_cWo.shape == (6, 4)
    assert p.dec_Wo.shape == (6, 6) and p.Wout.shape == (10, 6)
    assert ref["enc_N2"].shape == (5, 3) and ref["dec_N3"].shape == (6, 3) and ref["P"].shape == (10, 3)
    assert {f"dec_A_{h}" for h in (1, 2, 3)} <= set(ref) and "dec_A_4" not in ref
    assert {f"dec_cA_{h}" for h in (1, 2)} <= set(ref) and "dec_cA_3" not in ref
    np.testing.assert_allclose(ref["dec_PEs"], closed_form_pe(3, 6).T, atol=1e-15)
    assert all(w in p.dec_vocab_words for w in p.tgt)


def test_equal_sizes_tie_the_decoder_embedding_to_the_encoder():
    r = resolve(EX, size="medium", seed=8)
    np.testing.assert_array_equal(r.params.dec_Emb, r.params.Emb)
    assert r.params.dec_vocab_words == r.params.vocab_words


@pytest.mark.slow
@pytest.mark.parametrize("mask", ["inf", "value"])
def test_an_own_decoder_builds_and_verifies(tmp_path, mask):
    path = build(tmp_path, "transformer-full", sets=OWN_DECODER, seed=1, options={"mask": mask})
    assert_verified(path)


# --- the additive mask: −∞ or a value -----------------------------------------------------------
def test_mask_minus_infinity_gives_exact_zeros_and_a_value_gives_tiny_weights():
    r = resolve(EX)
    inf, value = (EX.reference(r.dims, r.params, mask=m) for m in ("inf", "value"))
    later = np.tril(np.ones((3, 3), dtype=bool), -1)  # [j, i]: key j after query i
    for h in (1, 2):
        assert (inf[f"dec_A_{h}"][later] == 0).all()
        masked = value[f"dec_A_{h}"][later]
        assert (masked > 0).all() and (masked < 1e-40).all()
        np.testing.assert_allclose(value[f"dec_Sm_{h}"], inf[f"dec_S_{h}"] - 99 * later, rtol=1e-12)
        np.testing.assert_allclose(value[f"dec_A_{h}"], inf[f"dec_A_{h}"], atol=1e-40)
    np.testing.assert_array_equal(value["dec_Mask"], np.where(later, -99.0, 0.0))


def test_a_mask_value_by_hand():
    """Scores [1, 3] of keys 1, 2 for query 1, key 2 masked with −2: softmax of [1, 1] = [½, ½]."""
    r = resolve(EX, sets={"n_tgt": 2}, seed=2)
    p = dict(r.params)
    p["mask_value"] = -2.0
    ref = EX.reference(r.dims, type(r.params)(p), mask="value")
    S = ref["dec_S_1"]
    a = np.exp(S[:, 0] + [0, -2])
    np.testing.assert_allclose(ref["dec_A_1"][:, 0], a / a.sum(), rtol=1e-12)
    np.testing.assert_allclose(ref["dec_A_1"][:, 1], np.exp(S[:, 1]) / np.exp(S[:, 1]).sum(), rtol=1e-12)


def test_the_minus_infinity_mask_is_written_by_hand(tmp_path):
    path = build(tmp_path, "transformer-full")
    wb = readback.load(path)
    cells = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert cells.count("−∞") == 3  # one mask: 3 keys after their query
    ifs = [f for f in formula_texts(path) if f.startswith('=IF(') and '="−∞",0,EXP(' in f]
    assert len(ifs) == 2 * 9  # every e^ cell of both heads reads the mask


@pytest.mark.parametrize("dim,value", [("heads_x", 9), ("d_dec", 1), ("vocab_dec", 2), ("heads_dec", 0)])
def test_bad_decoder_dims_are_refused(tmp_path, dim, value):
    line = rejected_build(tmp_path, "transformer-full", "--set", f"{dim}={value}")
    assert f"'{dim}'" in line


def test_an_unknown_mask_is_refused(tmp_path):
    line = rejected_build(tmp_path, "transformer-full", "--opt", "mask=-99")
    assert "'mask'" in line and "inf" in line and "value" in line


@pytest.mark.libreoffice
def test_new_structures_agree_in_libreoffice(tmp_path):
    """LibreOffice recalculates the new structures (one soffice call) and agrees with NumPy."""
    from support import assert_report_ok, build
    from xlhand.check import check_file
    from xlhand.engines import libreoffice
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    built = [build(tmp_path, "transformer-full", f"case{i}.xlsx", **kw) for i, kw in enumerate([dict(sets=OWN_DECODER, seed=1, options={"mask": "inf"}), dict(sets=OWN_DECODER, seed=1, options={"mask": "value"})])]
    converted = libreoffice.recalculate(built, tmp_path / "recalculated")
    for path in built:
        assert_report_ok(check_file(path, engine="saved", recalculated=converted[path]), f"{path.name} (LibreOffice)")


def sizes_to_sweep():
    """Every dim at its small value, then each dim alone at each value of its range (vocabularies
    every fourth word), then seeded random sizes (each dim up to 8, a vocabulary up to 14), each with
    an option combination in turn; the sizes that once failed (two arrows in one cell, a label on a
    label) first."""
    small = dict(EX.presets["small"])
    combos = [dict(zip(SWEPT_OPTIONS, c)) for c in itertools.product(*SWEPT_OPTIONS.values())]
    cases = [dict(small, n_src=1, n_tgt=2, d=5, d_dec=7),
             dict(vocab=6, n_src=2, n_tgt=6, d=7, heads=3, d_k=8, d_ff=3, vocab_dec=12, d_dec=2, heads_dec=2,
                  heads_x=3),
             dict(vocab=10, n_src=2, n_tgt=1, d=2, heads=1, d_k=6, d_ff=8, vocab_dec=11, d_dec=8, heads_dec=1,
                  heads_x=4)]
    for dim, (low, high) in EX.limits.items():
        cases += [dict(small, **{dim: v}) for v in range(low, high + 1, 4 if dim.startswith("vocab") else 1)]
    rng = random.Random(21)
    cases += [{dim: rng.randint(low, min(high, 14 if dim.startswith("vocab") else 8))
               for dim, (low, high) in EX.limits.items()} for _ in range(60)]
    return [(dims, combos[k % len(combos)]) for k, dims in enumerate(cases)]


SWEPT_OPTIONS = {"pe": ("sinusoid", "given", "none"), "stable": (False, True), "mask": ("inf", "value")}


def test_a_sweep_of_sizes_lays_out_under_every_option():
    """An instructor's own sizes lay out (no two things in one cell): the layout only, from plainly
    drawn numbers of each size (no accept test, no recalculation)."""
    failed = []
    for dims, options in sizes_to_sweep():
        dims = Dims(dims)
        resolved = Resolved(EX, dims, draw(EX, dims, 0, None, EX.givens, 0), 0, EX.check_options(options))
        try:
            key_sheet(resolved)
        except Exception as error:  # noqa: BLE001  (every failure named below)
            failed.append(f"{dict(dims)} {options}: {error}")
    assert not failed, "\n".join(failed[:5])
