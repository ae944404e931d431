"""svm: support vector machine prediction with a linear and an RBF kernel on the same support vectors.

Training vectors x_i are the columns of Xtr (d × n_sv) with classes y_i = ±1 and dual weights α_i ≥ 0
(α_i = 0: not a support vector); test points x_t are the columns of Xte. Signed weights ay = α ⊙ y.
Linear kernel Klin = Xtrᵀ·Xte (Klin[i, t] = x_i·x_t), score_lin = ay·Klin + b, class_lin = sign.
RBF kernel: D2[i, t] = ‖x_i − x_t‖² = Σ_k (x_ki − x_kt)², Krbf = exp(−γ·D2), score_rbf = ay·Krbf + b,
class_rbf = sign.
Option ``train``: the linear SVM in primal form with w = Xtr·ayᵀ = Σ α_i y_i x_i: decision values
f = wᵀ·Xtr + b, margins m = y ⊙ f, hinge = max(0, 1 − m), L = λ/2·‖w‖² + mean(hinge); one subgradient
step with g_i = y_i where m_i < 1, else 0 (the flat side at the kink m_i = 1): dw = λ·w − Xtr·gᵀ/n_sv,
db = −Σg/n_sv, wn = w − lr·dw, bn = b − lr·db.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import paper
from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GRADIENT, LEFT, OUTPUT, RIGHT, TARGET, UP, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.givens import Given
from xlhand.model.makers import fixed

BOUNDARY = 1e-9  # a score this close to 0 lies on the decision boundary: its sign is not a class
GAMMAS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0)


def reference(d, p, train=False):
    ay = p.alpha * p.y
    Klin = p.Xtr.T @ p.Xte
    score_lin = ay @ Klin + p.b
    D2 = ((p.Xtr.T[:, :, None] - p.Xte[None, :, :]) ** 2).sum(axis=1)
    Krbf = np.exp(-p.gamma * D2)
    score_rbf = ay @ Krbf + p.b
    out = dict(ay=ay, Klin=Klin, score_lin=score_lin, class_lin=np.sign(score_lin),
               D2=D2, Krbf=Krbf, score_rbf=score_rbf, class_rbf=np.sign(score_rbf))
    if train:
        out.update(primal(p))
    return out


def primal(p) -> dict:
    """The primal linear SVM at w = Xtr·ayᵀ: margins, hinge loss and one subgradient step."""
    n = p.Xtr.shape[1]
    w = p.Xtr @ (p.alpha * p.y).T
    f = w.T @ p.Xtr + p.b
    margin = p.y * f
    hinge = np.maximum(0.0, 1.0 - margin)
    g = np.where(margin < 1, p.y, 0.0)
    Xg = p.Xtr @ g.T
    dw = p.lam * w - Xg / n
    db = -g.sum() / n
    return dict(w=w, f=f, margin=margin, hinge=hinge, L=p.lam / 2 * (w ** 2).sum() + hinge.mean(), g=g, Xg=Xg,
                dw=dw, db=db, wn=w - p.lr * dw, bn=p.b - p.lr * db)


def layout(s, d, p, train=False):
    # with the primal section (a page of its own): the linear kernel a landscape page wide and short
    # (the givens left of Xtrᵀ, their label rows the gaps), so that the header and it share page 1
    wide = train and d.n_sv + d.d + 5 <= paper.narrowest_page_columns()
    with s.step("Linear kernel Klin = Xtrᵀ·Xte; signed weights ay = α ⊙ y"):
        with s.group() as data:
            Xtr = s.given("Xtr", label="Xtr (one training vector a column)")
            y = s.given("y", label="y (class ±1)")
            s.place(y, below=Xtr, gap=0 if wide else None)
            alpha = s.given("alpha", label="α (0: not a support vector)")
            s.place(alpha, below=y, gap=0 if wide else None)
        Xte = s.given("Xte", label="Xte")
        s.next_to(Xte, data, RIGHT, align="end")
        Kt = ops.transpose(s, "XtrT", Xtr, label="Xtrᵀ", role=COMPUTED)
        s.place(Kt, below=EVERYTHING)
        Klin = ops.matmul(s, "Klin", Kt, Xte, label="Klin = Xtrᵀ·Xte")
        s.next_to(Kt, Klin, LEFT)
        if wide:
            s.next_to(data, s.together([Xte, Kt]), LEFT, align="start")
        with s.group() as signed:
            ay = ops.elementwise(s, "ay", fx.mul, [alpha, y], label="ay = α ⊙ y", arrow=False)
            s.place(ay, below=EVERYTHING)
            b = s.given("b", label="b")
            s.place(b, right_of=ay, gap=0)
    with s.step("score_lin = ay·Klin + b (one dot product per test point); class_lin = its sign"):
        score_lin = ops.linear(s, "score_lin", ay, Klin, b, label="score_lin")
        s.next_to(signed, score_lin, LEFT)
        class_lin = _sign(s, "class_lin", score_lin)
    # the RBF kernel under the linear one, its score under the linear score (ay and b copied left of
    # it): side by side the two would be wider than a page
    with s.group() as rbf:
        with s.step("RBF kernel: D2[i, t] = Σ (x_i − x_t)² written out; Krbf = exp(−γ·D2)"):
            D2 = s.add("D2", Klin.shape, label="D2 = ‖x_i − x_t‖²",
                       formula=lambda i, t: "+".join(f"({Kt.cell(i, k)}-{tests.cell(k, t)})^2" for k in range(d.d)))
            tests = ops.carry(s, "Xte_c", Xte, label="Xte")
            s.place(tests, below=EVERYTHING)
            s.place(D2, below=tests, gap=0)  # its label right under Xte: no page break between them
            Krbf = ops.elementwise(s, "Krbf", lambda x: f"EXP(-{ops.absolute(gamma)}*{x})", [D2],
                                   label="Krbf = exp(−γ·D2)")
            gamma = s.given("gamma", label="γ")
            s.place(gamma, above=Krbf)
        with s.step("score_rbf = ay·Krbf + b (the same support vectors); class_rbf = its sign"):
            # ay and b copied left of the score, as on paper when a weight is needed again a page on
            copied = [ops.copied_part(s, name, src, label=src.name) for name, src in (("ay_rbf", ay), ("b_rbf", b))]
            score_rbf = ops.matmul_parts(s, "score_rbf", copied[:1], Krbf, copied[1], label="score_rbf")
            _sign(s, "class_rbf", score_rbf)
    s.next_to(rbf, s.together([signed, class_lin]), DOWN, align="start")
    only = "" if train else " (train)"  # used by --opt train=true only
    with s.group() as settings:
        lam = s.given("lam", label="λ" + only)
        s.place(lam, below=EVERYTHING)
        lr = s.given("lr", label="lr" + only)
        s.place(lr, right_of=lam)
    if train:
        _train(s, d, Xtr, y, ay, b, lam, lr, settings, s.together([data, rbf]))
    else:  # λ and lr serve the primal section only: on screen, off paper
        s.set_aside(settings)


def _sign(s, name: str, score):
    """The predicted class under ``score``: 1, −1, or 0 on the boundary."""
    return s.place(s.add(name, score.shape, role=OUTPUT, label=f"{name} = sign",
                 formula=lambda i, j: f"IF({score.cell(i, j)}>0,1,IF({score.cell(i, j)}<0,-1,0))"), below=score)


def _train(s, d, Xtr, y, ay, b, lam, lr, settings, above):
    """The primal section under ``above`` (its left edge), a landscape page wide: one copy of Xtr serving w = Xtr·ayᵀ
    and Xg = Xtr·gᵀ side by side (ayᵀ and gᵀ above them) and, as the input above it, f = wᵀ·Xtr + b (wᵀ
    and b left of f); the margins, the hinge, the loss and g under f, the gradients and the step under
    w, λ and lr under wᵀ."""
    n = d.n_sv
    with s.group() as primal:
        # two steps, the walkthrough's two phases (the primal objective at w, one step down its
        # subgradient), so that the header leaves the linear kernel room on page 1
        with s.step("Primal: w = Xtr·ayᵀ; f = wᵀ·Xtr + b, m = y ⊙ f, hinge = max(0, 1 − m); L = λ/2·‖w‖² + mean(hinge)"):
            X = ops.carry(s, "Xtr_c", Xtr, label="Xtr")
            s.place(X, below=EVERYTHING)
            ayT = ops.transpose(s, "ayT", ay, label="ayᵀ")
            w = ops.matmul(s, "w", X, ayT, label="w")
            s.place(w, right_of=X)
            s.next_to(ayT, w, UP)
            f = ops.matmul_parts(s, "f", [ops.transposed_part(s, "wT", w, label="wᵀ")], X,
                                 ops.copied_part(s, "b_c", b, label="b"), label="f = wᵀ·Xtr + b",
                                 weights_gap=1 if d.d + 1 + 1 + n + 1 + 2 <= paper.narrowest_page_columns() else 0)
            margin = s.add("margin", f.shape, label="m = y ⊙ f",
                           formula=lambda i, j: f"{y.cell(0, j)}*{f.cell(0, j)}")
            s.place(margin, below=f, gap=0)  # its label row the gap
            hinge = s.add("hinge", f.shape, label="hinge = max(0, 1 − m)",
                          formula=lambda i, j: f"MAX(0,1-{margin.cell(0, j)})")
            s.place(hinge, below=margin, gap=0)
            L = s.add("L", (1, 1), role=OUTPUT, label="L = λ/2·‖w‖² + mean(hinge)",
                      formula=lambda i, j: f"{ops.absolute(lam)}/2*SUMSQ({w.range()})+AVERAGE({hinge.range()})")
            s.place(L, below=hinge, gap=0)
        with s.step("Subgradient step: g = y where m < 1 (else 0), Xg = Xtr·gᵀ, dw = λw − Xg/n, db = −Σg/n; "
                    "wn = w − lr·dw, bn = b − lr·db"):
            g = s.add("g", f.shape, label="g = y where m < 1",
                      formula=lambda i, j: f"IF({margin.cell(0, j)}<1,{y.cell(0, j)},0)")
            s.place(g, below=L, gap=0)
            gT = ops.transpose(s, "gT", g, label="gᵀ")
            Xg = ops.matmul(s, "Xg", X, gT, label="Xg")
            s.place(Xg, right_of=w, gap=0)  # [w | Xg] = Xtr·[ayᵀ | gᵀ]
            s.next_to(gT, Xg, UP)
            s.place(gT, right_of=ayT, gap=0)
            dw = s.add("dw", w.shape, role=GRADIENT, label=f"dw = λw − Xg/{n}",
                       formula=lambda i, j: f"{ops.absolute(lam)}*{w.cell(i, 0)}-{Xg.cell(i, 0)}/{n}")
            db = s.add("db", (1, 1), role=GRADIENT, label=f"db = −Σg/{n}",
                       formula=lambda i, j: f"-SUM({g.range()})/{n}")
            wn = ops.sgd_step(s, "wn", w, dw, lr, label="wn = w − lr·dw")
            bn = ops.sgd_step(s, "bn", b, db, lr, label="bn = b − lr·db")
        # the gradients and the step down the columns of w where their labels fit on the page, else in
        # a band under g
        if n >= 6 and d.d + n + 6 <= paper.narrowest_page_columns():  # Xtr wider than the labels under it
            s.next_to(s.arrange([dw, db, wn, bn], DOWN, gap=0), w, DOWN)
        else:
            s.next_to(s.arrange([dw, db, wn, bn], RIGHT), s.together([s.blocks["wT"], g]), DOWN, align="start")
    s.arrange([lam, lr], DOWN, gap=0)  # λ and lr under wᵀ, one under the other
    s.next_to(settings, s.blocks["wT"], DOWN)
    s.next_to(s.together([primal, settings]), above, DOWN, align="start")


# --- inputs ------------------------------------------------------------------------------------
def check_y(y, dims) -> str | None:
    bad = [k for k, v in enumerate(np.ravel(y), start=1) if v not in (1.0, -1.0)]
    return f"entry {bad[0]} is {np.ravel(y)[bad[0] - 1]:g}: every class is 1 or -1" if bad else None


def check_alpha(alpha, dims) -> str | None:
    bad = [k for k, v in enumerate(np.ravel(alpha), start=1) if v < 0]
    return (f"entry {bad[0]} is {np.ravel(alpha)[bad[0] - 1]:g}: a dual weight α is 0 or more"
            if bad else None)


def check_gamma(gamma, dims) -> str | None:
    return f"γ = {gamma:g}: the RBF kernel's γ must be greater than 0" if gamma <= 0 else None


def checks(d, p) -> str | None:
    """No test point on a decision boundary: a score of (about) 0 has no class, and the sheet's sign
    and NumPy's could disagree there."""
    ref = reference(d, p)
    for kernel in ("lin", "rbf"):
        for t, score in enumerate(ref[f"score_{kernel}"][0], start=1):
            if abs(score) < BOUNDARY:
                return (f"block 'Xte': test point {t} lies on the decision boundary of the "
                        f"{'linear' if kernel == 'lin' else 'RBF'} kernel (score_{kernel} = {score:.3g}): "
                        "move it, or change b or alpha")
    return None


def instructive(d, p, train=False) -> bool:
    """Both classes among the support vectors, clear scores (|score| ≥ 0.1), an RBF kernel that
    neither vanishes nor saturates for any test point, and with ``train`` a hinge that is active for
    some training vectors and not for others."""
    if checks(d, p):
        return False
    ay = (p.alpha * p.y)[0]
    if d.n_sv >= 2 and not ((ay > 0).any() and (ay < 0).any()):
        return False
    ref = reference(d, p, train)
    if min(np.abs(ref["score_lin"]).min(), np.abs(ref["score_rbf"]).min()) < 0.1:
        return False
    K = ref["Krbf"]
    if K.max(axis=0).min() < 0.05 or (d.n_sv >= 2 and K.min() > 0.95):
        return False
    if train and d.n_sv >= 2:
        active = ref["margin"] < 1
        return bool(active.any() and not active.all())
    return True


def _classes(rng, size, dims):
    """±1, both classes where there are two vectors or more."""
    y = rng.choice([-1.0, 1.0], size=size)
    if y.size >= 2:
        first, second = rng.choice(y.size, size=2, replace=False)
        y.flat[first], y.flat[second] = 1.0, -1.0
    return y


def _dual(rng, size, dims, params):
    """Dual weights 0, 0.5 or 1 whose signed sum Σ α_i y_i is 0 (the SVM's constraint): the same
    total on each class, spread over a few support vectors; some vectors get 0."""
    y = params["y"][0]
    alpha = np.zeros(size)
    pos, neg = np.flatnonzero(y > 0), np.flatnonzero(y < 0)
    if not len(pos) or not len(neg):
        alpha[0, rng.choice(y.size, size=max(1, y.size // 2), replace=False)] = 1.0
        return alpha
    most = min(len(pos), len(neg))
    total = 0.5 * int(rng.integers(1, 2 * max(1, most - (most > 1)) + 1))  # halves, at most one per vector
    for side in (pos, neg):
        units = int(total * 2)
        for k in rng.permutation(side):
            if units <= 0:
                break
            take = min(units, 2, int(rng.integers(1, 3)))
            alpha[0, k] = take / 2
            units -= take
        while units > 0:  # what is left goes to the vectors that have room
            k = next(k for k in side if alpha[0, k] < 1)
            alpha[0, k] += 0.5
            units -= 1
    return alpha


def _scores_of(params, b):
    p = dict(params, b=b)
    ay = p["alpha"] * p["y"]
    lin = ay @ (p["Xtr"].T @ p["Xte"]) + b
    d2 = ((p["Xtr"].T[:, :, None] - p["Xte"][None, :, :]) ** 2).sum(axis=1)
    return np.concatenate([lin[0], (ay @ np.exp(-p["gamma"] * d2) + b)[0]])


def _bias(rng, size, dims, params):
    """Chosen after the other givens: −1, −0.5, 0, 0.5 or 1, one that keeps every score at least
    0.1 from the decision boundary where one does."""
    options = [b for b in (-1.0, -0.5, 0.0, 0.5, 1.0) if np.abs(_scores_of(params, b)).min() >= 0.1]
    return float(rng.choice(options)) if options else 0.0


def _gamma(rng, size, dims, params):
    """Chosen after Xtr and Xte: of 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2 the one nearest 1 / the median of
    the squared distances, so the RBF kernel neither vanishes nor saturates."""
    d2 = ((params["Xtr"].T[:, :, None] - params["Xte"][None, :, :]) ** 2).sum(axis=1)
    target = 1 / max(float(np.median(d2)), 1e-9)
    return float(min(GAMMAS, key=lambda g: abs(np.log(g / target))))


EXERCISE = Exercise(
    name="svm",
    title="Support vector machine prediction: linear and RBF kernels",
    source=Source(
        paper="Cortes & Vapnik (1995), Support-vector networks, Machine Learning 20",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Support Vector Machine"),
    dims={"n_sv": "training (support) vectors", "d": "features", "n_test": "test points"},
    presets={
        "small": dict(n_sv=6, d=3, n_test=2),
        "medium": dict(n_sv=8, d=3, n_test=3),
        "large": dict(n_sv=12, d=4, n_test=4),
    },
    # Fresh numbers: whole-number vectors, both classes, dual weights in halves that satisfy
    # Σ α_i y_i = 0, γ matched to the distances, and a bias that keeps every test point off the boundary.
    givens=[
        Given("Xtr", ("d", "n_sv"), low=-2, high=2, describe="training vectors, one a column"),
        Given("y", (1, "n_sv"), role=TARGET, make=_classes, check=check_y, describe="classes, 1 or -1"),
        Given("alpha", (1, "n_sv"), role=WEIGHT, derive=_dual, check=check_alpha,
              describe="dual weights, 0 or more (0: not a support vector)"),
        Given("Xte", ("d", "n_test"), low=-2, high=2, describe="test points, one a column"),
        Given("gamma", (), derive=_gamma, check=check_gamma, describe="the RBF kernel's γ, greater than 0"),
        Given("b", (), role=BIAS, derive=_bias, describe="the bias"),
        Given("lam", (), make=fixed(0.1), describe="λ, the weight of ‖w‖² in the hinge loss (train)"),
        Given("lr", (), make=fixed(0.5), describe="the subgradient step's learning rate (train)"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("train", False,
                    describe="the primal hinge loss at w = Xtr·ayᵀ and one subgradient step (w, b)")],
    limits={"n_sv": (2, 16), "d": (1, 6), "n_test": (1, 6)},
    checks=checks,
    accept=instructive,
)
