"""gcn: the reference against a node-by-node message-passing loop, the seed's facts in the default
numbers, an edited edge that the whole sheet follows, the bad inputs of a params file, and both
values of the option building and verifying."""
from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from support import assert_verified, build, rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve
from xlhand.check import check_file

EX = catalog.get("gcn")


def message_passing(names, edges, p, normalize):
    """The GCN written node by node from the edge list: each layer sends every node's message to
    itself and along every edge, both ways (weighted 1/√(deg_u·deg_v) when normalized), and each
    node adds up what reaches it; no adjacency matrix anywhere."""
    neighbours = {v: {v} for v in names}
    for edge in edges:
        u, v = edge.split("-")
        neighbours[u].add(v)
        neighbours[v].add(u)
    degree = {v: len(neighbours[v]) for v in names}

    def pool(msg):
        out = np.zeros_like(msg)
        for j, v in enumerate(names):
            for u in neighbours[v]:
                weight = 1 / np.sqrt(degree[u] * degree[v]) if normalize else 1.0
                out[:, j] += weight * msg[:, names.index(u)]
        return out

    layers = {}
    a = p.X
    for k in (1, 2):
        msg = np.array([[max(0.0, float(p[f"W{k}"][i] @ a[:, j] + p[f"b{k}"][i, 0])) for j in range(len(names))]
                        for i in range(p[f"W{k}"].shape[0])])
        a = layers[f"H{k}"] = pool(msg)
        layers[f"Msg{k}"] = msg
    z3 = np.maximum(p.W3 @ a + p.b3, 0)
    layers["Z4"] = p.W4 @ z3 + p.b4
    layers["Prob"] = 1 / (1 + np.exp(-layers["Z4"]))
    return layers


def random_graph(rng, n):
    names = [f"n{k}" for k in range(n)]
    edges = [f"n{rng.integers(v)}-n{v}" for v in range(1, n)]  # a random tree: every node on an edge
    extra = [(u, v) for u in range(n) for v in range(u + 1, n) if f"n{u}-n{v}" not in edges]
    for k in rng.choice(len(extra), size=min(2, len(extra)), replace=False):
        edges.append(f"n{extra[k][0]}-n{extra[k][1]}")
    return names, edges


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("normalize", [False, True])
def test_reference_equals_message_passing_node_by_node(size, normalize):
    d = Dims(EX.presets[size])
    rng = np.random.default_rng(3)
    names, edges = random_graph(rng, d.nodes)
    shapes = {"W1": (d.f1, d.f_in), "W2": (d.f2, d.f1), "W3": (d.hidden, d.f2), "W4": (1, d.hidden)}
    p = Params(names=names, edges=edges, X=rng.normal(size=(d.f_in, d.nodes)),
               **{w: rng.normal(size=shape) for w, shape in shapes.items()},
               **{f"b{w[1]}": rng.normal(size=(shape[0], 1)) for w, shape in shapes.items()})
    ref = EX.reference(d, p, normalize=normalize)
    loop = message_passing(names, edges, p, normalize)
    for name, value in loop.items():
        np.testing.assert_allclose(ref[name], value, rtol=1e-12, atol=1e-12, err_msg=name)
    assert np.array_equal(ref["Adj"], ref["Adj"].T) and np.trace(ref["Adj"]) == 0
    assert ref["Adj"].sum() == 2 * len(edges)


def test_the_default_numbers_show_the_seed_facts():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    assert r.params.names == ["A", "B", "C", "D", "E"]
    # GCN1's view of node 1 (A): [3, 0, 1] + [1, 0, 0] = [4, 0, 1]
    view1 = ref["View1"][ref["View1_w"][:, 0] != 0]
    assert view1.tolist() == [[3, 0, 1], [1, 0, 0]] and ref["H1"][:, 0].tolist() == [4, 0, 1]
    # GCN2's view of node 3 (C): [1, 2, 4] + [1, 3, 5] + [0, 0, 1] = [2, 5, 10]
    view2 = ref["View2"][ref["View2_w"][:, 0] != 0]
    assert view2.tolist() == [[1, 2, 4], [1, 3, 5], [0, 0, 1]] and ref["H2"][:, 2].tolist() == [2, 5, 10]
    assert ref["View1_sum"][0].tolist() == [4, 0, 1] and ref["View2_sum"][0].tolist() == [2, 5, 10]
    # outputs A ≈ 0, B ≈ C ≈ D ≈ 1, E = 0.5, also read by hand (≥ 3 → 1, 0 → 0.5, ≤ −3 → 0)
    assert ref["Z4"][0].tolist() == [-3, 3, 6, 6, 0]
    assert ref["Prob_hand"][0].tolist() == [0, 1, 1, 1, 0.5] and ref["Prob"][0, 4] == 0.5
    for Y in (ref["Y1"], ref["Y2"], ref["Y3"]):
        assert (Y > 0).any() and (Y < 0).any()


def test_normalize_pools_with_the_symmetric_degree_normalisation():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params, normalize=True)
    assert ref["deg"][:, 0].tolist() == [2, 4, 3, 4, 2]  # A–B, B–C, C–D, D–E, B–D plus self loops
    np.testing.assert_allclose(ref["AdjN"][0, 1], 1 / np.sqrt(2 * 4))
    eigen = np.linalg.eigvalsh(ref["AdjN"])
    assert eigen.max() == pytest.approx(1.0)  # D^−½(A+I)D^−½ has spectral radius 1


def test_an_edited_edge_is_followed_by_the_whole_sheet(tmp_path):
    """Change the edge D-E into A-E on the sheet: Adj, the pooling and everything after it follow,
    and the workbook still equals the reference for its (new) edges."""
    path = build(tmp_path, "gcn")
    wb = openpyxl.load_workbook(path)
    where = readback.block_ranges(wb)["edges"]
    ws = wb[where.sheet]
    cells = [ws.cell(where.min_row, c) for c in range(where.min_col, where.max_col + 1)]
    next(c for c in cells if c.value == "D-E").value = "A-E"
    wb.save(path)
    report = check_file(path, "ironcalc")
    assert report.ok, report.mismatches[:5]
    from xlhand.engines.workbook import Workbook

    adj = readback.read_block(Workbook(path), readback.block_ranges(wb)["Adj"])
    assert adj[0][4] == adj[4][0] == 1 and adj[3][4] == 0


@pytest.mark.parametrize("normalize", ["false", "true"])
def test_each_option_builds_and_verifies(tmp_path, normalize):
    path = build(tmp_path, "gcn", options={"normalize": normalize})
    assert_verified(path)


def bad(tmp_path, values: str) -> str:
    return rejected_build(tmp_path, "gcn", params="exercise: gcn\nvalues:\n" + values)


def test_an_edge_naming_a_missing_node_is_refused(tmp_path):
    line = bad(tmp_path, "  edges: [A-B, B-C, C-D, D-F, B-D, A-E]\n")
    assert "'edges'" in line and "F" in line and "more than the 5" in line
    (tmp_path / "renamed").mkdir()
    line = bad(tmp_path / "renamed", "  names: [A, B, C, D, F]\n")  # the template's edges name E
    assert "'edges'" in line and "'E'" in line and "not in names" in line


def test_a_self_edge_is_refused(tmp_path):
    line = bad(tmp_path, "  edges: [A-B, B-C, C-D, D-E, C-C]\n")
    assert "'edges'" in line and "'C-C'" in line and "itself" in line


def test_a_duplicate_node_name_is_refused(tmp_path):
    line = bad(tmp_path, "  names: [A, B, C, b, E]\n")
    assert "'names'" in line and "both named" in line


def test_an_edge_given_twice_and_a_node_without_edges_are_refused(tmp_path):
    assert "repeats" in bad(tmp_path, "  edges: [A-B, B-C, C-D, D-E, E-D]\n")
    assert "every node needs an edge" in bad(tmp_path, "  edges: [A-B, B-C, C-D]\n")


def test_an_unknown_option_value_is_refused(tmp_path):
    line = rejected_build(tmp_path, "gcn", "--opt", "normalize=maybe")
    assert "normalize" in line and "true" in line
