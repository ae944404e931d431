"""dft: the NumPy reference against numpy.fft (cosine and sine parts), the seed notes' numbers,
and the --with-sine workbook recomputed by both engines (the generic tests build the default
options only)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from support import assert_verified, build, non_portable, rejected_build
from xlhand.model import catalog
from xlhand.engines import libreoffice
from xlhand.cli import cli
from xlhand.model.givens import AttrDict
from xlhand.model.resolve import resolve
from xlhand.check import check_file

EX = catalog.get("dft")


def fft_coefficients(x, k):
    """Cosine and sine coefficients of x (t = 1…n) at f = 1…k from numpy.fft: t = n is t = 0."""
    n = x.size
    spectrum = np.fft.fft(np.roll(x, 1))  # index 0 now holds x at t = n ≡ 0
    return 2 / n * spectrum.real[1:k + 1], -2 / n * spectrum.imag[1:k + 1]


@pytest.mark.parametrize("n,k,seed", [(10, 4, 0), (8, 3, 1), (16, 6, 2), (7, 5, 3)])
def test_reference_matches_numpy_fft(n, k, seed):
    rng = np.random.default_rng(seed)
    p = AttrDict(F=rng.normal(size=(3, k)), X=rng.normal(size=(1, n)))
    ref = EX.reference(AttrDict(n=n, k=k), p, with_sine=True)
    for row, signal in enumerate(ref["T"]):
        a, b = fft_coefficients(signal, k)
        np.testing.assert_allclose(ref["Fr"][row], a, atol=1e-12)
        np.testing.assert_allclose(ref["Fs"][row], b, atol=1e-12)
    a, b = fft_coefficients(p.X[0], k)
    np.testing.assert_allclose(ref["Xf"][0], a, atol=1e-12)
    np.testing.assert_allclose(ref["Xs"][0], b, atol=1e-12)
    spectrum = np.fft.fft(np.roll(p.X[0], 1))[1:k + 1]
    np.testing.assert_allclose(ref["MagX"][0], 2 / n * np.abs(spectrum), atol=1e-12)
    np.testing.assert_allclose(ref["PhaseX"][0], -np.angle(spectrum), atol=1e-9)
    if 2 * k < n:  # orthogonal cosines: the round trip gives F back
        np.testing.assert_allclose(ref["Fr"], p.F, atol=1e-12)
        np.testing.assert_allclose(ref["R"], n / 2 * p.F.T, atol=1e-12)


def test_seed_notes_numbers():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"} and dict(r.dims) == {"n": 10, "k": 4}
    ref = EX.reference(r.dims, r.params, with_sine=True)
    np.testing.assert_allclose(ref["Fr"], r.params.F, atol=1e-12)
    np.testing.assert_allclose(ref["Xf"][0], [0, 0, 3, 2], atol=0.05)
    np.testing.assert_allclose(ref["Xs"], 0, atol=1e-12)  # X is even: a pure cosine signal
    assert ref["Phase"][2, 1] == pytest.approx(np.pi)  # C's −1·cos(2ωt) is cos shifted by π
    assert np.all(ref["PhaseX"] == 0)


def test_random_signals_are_whole_waves():
    r = resolve(EX, seed=5)
    ref = EX.reference(r.dims, r.params, with_sine=True)
    coefficients = np.concatenate([ref["Xf"][0], ref["Xs"][0]])
    assert np.abs(coefficients).max() > 0.5
    np.testing.assert_allclose(coefficients, np.round(coefficients), atol=0.2)


@pytest.mark.slow  # LibreOffice, and the large size in the formulas engine
def test_with_sine_verifies_in_both_engines(tmp_path):
    default = build(tmp_path, "dft", "dft-sine.xlsx", options={"with_sine": True})
    large = build(tmp_path, "dft", "dft-sine-large.xlsx", size="large", options={"with_sine": True})
    assert_verified(default)
    assert non_portable(large) == set()
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice is not installed")
    converted = libreoffice.recalculate([default, large], tmp_path / "lo")
    for original, recalculated in converted.items():
        assert recalculated is not None
        report = check_file(original, engine="saved", recalculated=recalculated)
        assert report.ok, report.mismatches[:5]
        assert report.blocks >= 20


def test_cli_with_sine_flag(tmp_path):
    result = CliRunner().invoke(cli, ["build", "dft", "--with-sine", "--size", "small", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    from xlhand.engines import readback
    wb = readback.load(tmp_path / "dft.xlsx")
    assert {"Ws", "Fs", "Xs", "Mag", "Phase", "MagX", "PhaseX"} <= set(readback.block_ranges(wb))
    assert readback.read_metadata(wb, tmp_path / "dft.xlsx")["options"] == {"with_sine": True}


def test_bad_signal_length_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "dft", params="exercise: dft\ndims: {n: 10, k: 4}\nvalues:\n  X: [1, 2, 3]\n")
    assert "'X'" in message


@pytest.mark.slow
@pytest.mark.parametrize("with_sine", [False, True])
def test_every_length_and_frequency_count_lays_out_and_prints_uncut(with_sine):
    """n = 3…24 time points, k = 1…7 frequencies: n = 16, k = 2 failed (n's label over t's), n = 4, k = 1
    too (the coefficients left of Tt, in 4 rows), and an aliasing note ran off the page."""
    from xlhand.build import page_plan

    from xlhand.errors import XlhandError

    cut, sizes = [], 0
    for n in range(3, 25):
        for k in range(1, 8):
            try:
                resolved = resolve(catalog.get("dft"), sets={"n": n, "k": k}, options={"with_sine": with_sine})
            except XlhandError:  # outside the exercise's ranges (k < n …)
                continue
            sizes += 1
            cut += [(n, k, paper) for paper in ("a4", "letter") if page_plan(resolved, paper).cuts]
    assert sizes > 100
    # a 1 × 16 W with the sine part is wider than Letter at 70 % by one column (a lecture-like custom size)
    assert set(cut) <= ({(16, 1, "letter"), (16, 2, "letter")} if with_sine else set())
