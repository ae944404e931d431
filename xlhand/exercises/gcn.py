"""gcn: a graph convolutional network classifying the nodes of a small graph (the seed notes' walkthrough).

The graph: named nodes (A, B, C, …) and undirected edges, each written as two node names joined by
a hyphen ("A-B"). Adj[u, v] = 1 when an edge joins u and v (both directions), AdjI = Adj + I (every
node also keeps its own message). With ``normalize``, the pooling matrix is
AdjN = D^−½·AdjI·D^−½ (D = diag(deg), deg = the row sums of AdjI); otherwise it is AdjI itself.
Nodes are columns, features rows:
GCN1: Y1 = W1·X + b1, Msg1 = ReLU(Y1) (one message per node), H1 = Msg1·AdjI (column v sums the
messages of v and its neighbours); GCN2 likewise: Y2 = W2·H1 + b2, Msg2 = ReLU(Y2), H2 = Msg2·AdjI;
head: Y3 = W3·H2 + b3, Z3 = ReLU(Y3), Z4 = W4·Z3 + b4, Prob = σ(Z4) (one probability per node).
The seed reads σ by hand as ≥ 3 → 1, 0 → 0.5, ≤ −3 → 0; Prob_hand = clip(0.5 + Z4/6, 0, 1) is that
reading. View1 shows the messages summed for node 1 at GCN1 (Msg1's columns, each times its weight
in node 1's column of the pooling matrix), View2 those for node 3 (or the last node) at GCN2.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, LEFT, OUTPUT, WEIGHT, fx, op, ops, paper
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.npref import has_both_signs, relu, sigmoid
from xlhand.model.givens import Given

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SEPARATOR = "-"
MAX_NAME = 20  # characters: the sheet takes an edge's second node with MID(edge, …, 99)
HAND_BESIDE = 5  # nodes from which Prob_hand's label fits left of Prob's (n + 1 columns)
VIEW_NODES = (1, 3)  # the seed's views: node 1 at GCN1, node 3 at GCN2 (the last node if fewer)


# --- the math ----------------------------------------------------------------------------------
def endpoints(edges) -> list[list[str]]:
    """Each edge "X-Y" as [X, Y]."""
    return [edge.split(SEPARATOR, 1) for edge in edges]


def adjacency(names, edges) -> np.ndarray:
    """Adj[u, v] = 1 for every edge u–v, in both directions."""
    index = {name: k for k, name in enumerate(names)}
    adj = np.zeros((len(names), len(names)))
    for u, v in endpoints(edges):
        adj[index[u], index[v]] = adj[index[v], index[u]] = 1.0
    return adj


def pooling(names, edges, normalize: bool) -> dict:
    """Adj, AdjI = Adj + I, and with ``normalize`` deg (row sums of AdjI) and AdjN = D^−½·AdjI·D^−½;
    ``P`` is the matrix the layers pool with."""
    adj = adjacency(names, edges)
    adj_i = adj + np.eye(len(names))
    out = dict(Adj=adj, AdjI=adj_i, P=adj_i)
    if normalize:
        deg = adj_i.sum(axis=1, keepdims=True)
        inv_sqrt = 1.0 / np.sqrt(deg)
        out.update(deg=deg, AdjN=inv_sqrt * adj_i * inv_sqrt.T)
        out["P"] = out["AdjN"]
    return out


def view_nodes(n: int) -> tuple[int, int]:
    """The nodes (0-based) whose views are shown: node 1 at GCN1, node 3 at GCN2 (the last if fewer)."""
    return tuple(min(k, n) - 1 for k in VIEW_NODES)


def reference(d, p, normalize=False):
    graph = pooling(p.names, p.edges, normalize)
    P = graph.pop("P")
    pairs = endpoints(p.edges)
    Y1 = p.W1 @ p.X + p.b1
    Msg1 = relu(Y1)
    H1 = Msg1 @ P
    Y2 = p.W2 @ H1 + p.b2
    Msg2 = relu(Y2)
    H2 = Msg2 @ P
    Y3 = p.W3 @ H2 + p.b3
    Z3 = relu(Y3)
    Z4 = p.W4 @ Z3 + p.b4
    out = dict(src=[[u for u, _ in pairs]], dst=[[v for _, v in pairs]], **graph, Y1=Y1, Msg1=Msg1, H1=H1,
               Y2=Y2, Msg2=Msg2, H2=H2, Y3=Y3, Z3=Z3, Z4=Z4, Prob=sigmoid(Z4),
               Prob_hand=np.clip(0.5 + Z4 / 6, 0.0, 1.0))
    for k, (node, Msg) in enumerate(zip(view_nodes(len(p.names)), (Msg1, Msg2)), start=1):
        weights = P[:, node:node + 1]  # row j: how much node j's message counts for this node
        out[f"View{k}_w"] = weights
        out[f"View{k}"] = weights * Msg.T  # row j: node j's message, weighted
        out[f"View{k}_sum"] = (weights * Msg.T).sum(axis=0, keepdims=True)
    return out


# --- the sheet ---------------------------------------------------------------------------------
def layout(s, d, p, normalize=False):
    n = d.nodes
    nodes = view_nodes(n)
    normalized = ", AdjN = D^−½·AdjI·D^−½" if normalize else ""
    # a portrait page holds Msgk beside Hk: then every block's label row is its gap (2 pages), where
    # the view's Σ row (f columns and its mark) leaves Msgk's label room over Msgk
    tight = 2 * n + 1 <= paper.narrowest_page_columns(landscape=False) and 3 <= min(d.f1, d.f2) <= max(d.f1, d.f2) <= n - 2
    # Two columns of blocks down the page: results on the right, what multiplies them on the left.
    # X stands first, top right, with the graph's inputs (names, edges and their ends) beside it;
    # the adjacency is placed under Y1, right over its copy P1 and H1 = Msg1·P1.
    with s.step(f"Graph: edges → Adj (both ways), AdjI = Adj + I{normalized}"):
        with s.group() as graph_inputs:
            names = s.given("names", label="names (nodes)")
            edges = s.given("edges", label="edges (edit one!), from, to")
            s.place(edges, below=names, gap=0)
            src = s.add("src", (1, edges.cols), label="",
                        formula=lambda i, j: fx.mid(edges.cell(0, j), "1", f"{fx.find(_DASH, edges.cell(0, j))}-1"))
            s.place(src, adjoining=edges)
            dst = s.add("dst", (1, edges.cols), label="",
                        formula=lambda i, j: fx.mid(edges.cell(0, j), f"{fx.find(_DASH, edges.cell(0, j))}+1", "99"))
            s.place(dst, adjoining=src)  # the two rows under the edges: their ends, named in edges' label
        P = _graph(s, n, names, src, dst, normalize)
    X = s.given("X", label="X (one column per node)")
    s.next_to(graph_inputs, X, LEFT)
    H1 = _gcn_layer(s, 1, X, P, nodes[0], tight, graph=graph_inputs, deg=s.blocks.get("deg"))
    H2 = _gcn_layer(s, 2, H1, P, nodes[1], tight)
    with s.step("Head: Z3 = ReLU(W3·H2 + b3)"):
        Y3 = ops.linear(s, "Y3", "W3", H2, "b3", label="Y3 = W3·H2 + b3")
        s.place(Y3, below=ops.ones_row(s, H2), gap=0)
        Z3 = ops.relu(s, "Z3", Y3)
        s.place(Z3, below=Y3, gap=0)
    with s.step("Z4 = W4·Z3 + b4, Prob = σ(Z4): one per node"):
        Z4 = ops.linear(s, "Z4", "W4", Z3, "b4", label="Z4 = W4·Z3 + b4", weights_gap=0)
        s.place(Z4, below=ops.ones_row(s, Z3), gap=0)
        Prob = ops.sigmoid(s, "Prob", Z4, role=OUTPUT)
        s.place(Prob, below=Z4, gap=0)
        hand = s.add("Prob_hand", (1, n), label="by hand: clip(0.5 + Z4/6, 0, 1)",
                     formula=lambda i, j: f"MAX(0,MIN(1,0.5+{Z4.cell(0, j)}/6))")
        if n >= HAND_BESIDE:  # its label clears Prob's: beside it, a row shorter
            s.place(hand, left_of=Prob)
        else:
            s.place(hand, below=Prob)


@op
def _graph(s, n: int, names, src, dst, normalize: bool):
    """Adj from the edges' ends, AdjI = Adj + I right of it (and with ``normalize`` the degrees right
    of it and AdjN under it): one unit, placed by AdjI. Returns the pooling matrix (AdjI or AdjN)."""
    Adj = s.add("Adj", (n, n), label="Adj: edges u–v",
                formula=lambda u, v: _edge_count(src, dst, names, u, v))
    AdjI = s.add("AdjI", (n, n), label="AdjI = Adj + I",
                 formula=lambda u, v: f"{Adj.cell(u, v)}+1" if u == v else Adj.cell(u, v))
    s.place(AdjI, right_of=Adj)
    s.arrow(Adj, AdjI)
    s.anchor(AdjI)
    if not normalize:
        return AdjI
    deg = ops.row_sums(s, "deg", AdjI, label="deg = Σ row")
    # on a portrait page (Adj and AdjI fill its width) deg stands left of AdjN, which reads it row by
    # row, instead of right of AdjI; AdjN's label without its note (deg u, deg v) to stay that wide
    narrow = _deg_left(n)
    P = s.add("AdjN", (n, n), label="AdjN = D^−½·AdjI·D^−½" + ("" if narrow else " (deg u, deg v)"),
              formula=lambda u, v: fx.div(AdjI.cell(u, v), fx.sqrt(f"{deg.cell(u, 0)}*{deg.cell(v, 0)}")))
    s.place(P, below=AdjI)
    if narrow:  # (moved to the left edge by the first layer, beside its view of a node)
        s.place(deg, left_of=P)
    return P


def _deg_left(n: int) -> bool:
    """Whether Adj, AdjI and deg right of it (its label two columns) are wider than a portrait page."""
    return 2 * n + 1 + 2 > paper.narrowest_page_columns(landscape=False)


_DASH = f'"{SEPARATOR}"'


def _edge_count(src, dst, names, u: int, v: int) -> str:
    """How many edges join nodes u and v, either way round: SUMPRODUCT over the from and to rows."""
    a, b = names.cell(0, u), names.cell(0, v)
    return (f"SUMPRODUCT(({src.range()}={a})*({dst.range()}={b})"
            f"+({src.range()}={b})*({dst.range()}={a}))")


def _gcn_layer(s, k: int, inputs, P, node: int, tight: bool, graph=None, deg=None):
    """One GCN layer under ``inputs``: Yk = Wk·inputs + bk and Msgk = ReLU(Yk); a copy of the pooling
    matrix P under Yk and Hk = Msgk·P under it, Msgk at its left. Left of P's copy, the view of node
    ``node`` (0-based) as a column addition: row j is node j's message times its weight P[j, node],
    and the sum under them is Hk's column for that node. With ``graph`` (the graph's inputs, beside
    X) Yk stands under them too, and the graph (made in step 1) between Yk and the copy. ``tight``
    (a portrait page): in layer 1 no gap rows, H1's label in the row of the view's Σ, the view
    touching P's copy; a later layer starts the next page with a copy of its input. With ``deg`` (a
    normalised pooling matrix AdjN) layer 1 multiplies AdjN itself, right over H1, and deg (left of
    AdjN where Adj and AdjI fill a portrait page) moves left of the view."""
    squeeze = tight and graph is not None  # the first page is the full one; the second has room
    gap = {"gap": 0} if squeeze else {}
    with s.step(f"GCN{k} messages: Msg{k} = ReLU(W{k}·{inputs.name} + b{k})"):
        shown = inputs.name
        if k > 1 and tight:  # the page turns before this layer: its input, copied, stands over Yk
            inputs = s.place(ops.carry(s, f"{shown}c", inputs, label=f"{shown} (copy)"), below=inputs)
        Y = ops.linear(s, f"Y{k}", f"W{k}", inputs, f"b{k}", label=f"Y{k} = W{k}·{shown} + b{k}")
        ones = ops.ones_row(s, inputs)
        over = ones if graph is None else s.together([ones, graph])
        s.place(Y, below=over, gap=0, in_columns_of=inputs)  # its label is the gap: the layers fit their pages
        Msg = ops.relu(s, f"Msg{k}", Y, **({"label": f"Msg{k}"} if squeeze else {}))
        s.place(Msg, below=Y)
    if graph is not None:  # the graph, made in step 1, over the copy of its pooling matrix
        s.place(P, below=Y, **gap)
    name = s.params["names"][node]
    with s.step(f"GCN{k} pooling: H{k} = Msg{k}·{P.name}; node {name}'s view"):
        # normalised, AdjN itself stands over H1 (the graph is right over it), no copy under it
        if graph is not None and deg is not None:
            Pk = P
        else:
            Pk = ops.copy(s, f"P{k}", P, label=f"{P.name} (copy)")
            s.place(Pk, below=Y if graph is None else P, **gap)
        H = ops.matmul(s, f"H{k}", Msg, Pk, label=f"H{k} = Msg{k}·{P.name}")
        s.place(H, below=Pk, **gap)  # tight: its label row is the Σ row of the view
        s.next_to(Msg, H, LEFT)
        with s.group() as view:
            weights = s.add(f"View{k}_w", (P.rows, 1), label="w",
                            formula=lambda i, j: Pk.cell(i, node))
            messages = s.add(f"View{k}", (Msg.cols, Msg.rows), label=f"w × Msg{k}, summed" if squeeze else f"node {name} sums w × Msg{k}",
                             formula=lambda i, j: f"{weights.cell(i, 0)}*{Msg.cell(j, i)}")
            s.place(messages, right_of=weights, gap=0)
            ops.col_sums(s, f"View{k}_sum", messages)
        s.next_to(view, Pk, LEFT, **gap)  # tight: beside P's copy, leaving Msgk's label room over its Σ
        if graph is not None and deg is not None and _deg_left(P.rows):  # deg left of the view, in AdjN's rows
            s.next_to(deg, view, LEFT, gap=0)
    return H


# --- inputs ------------------------------------------------------------------------------------
def check_names(names, dims) -> str | None:
    """Node names: single words without spaces or hyphens, unique ignoring case (spreadsheets
    compare text ignoring case)."""
    seen = {}
    for k, name in enumerate(names, start=1):
        if not name or any(ch.isspace() for ch in name) or SEPARATOR in name:
            return f"node {k} {name!r} must be one word without spaces or '{SEPARATOR}'"
        if len(name) > MAX_NAME:
            return f"node {k} '{name}' is longer than {MAX_NAME} characters"
        if name.lower() in seen:
            return f"nodes {seen[name.lower()]} and {k} are both named '{name}' (names must differ, ignoring case)"
        seen[name.lower()] = k
    return None


def check_edges(edges, dims) -> str | None:
    """Each edge two different node names joined by '-', no edge twice (either way round), and
    every one of the ``nodes`` nodes on an edge."""
    seen = {}
    for k, edge in enumerate(edges, start=1):
        parts = edge.split(SEPARATOR)
        if len(parts) != 2 or not all(parts) or any(ch.isspace() for ch in edge):
            return f"edge {k} {edge!r} must be two node names joined by '{SEPARATOR}', such as 'A{SEPARATOR}B'"
        u, v = parts
        if u.lower() == v.lower():
            return f"edge {k} '{edge}' joins node '{u}' to itself (self loops are added as AdjI = Adj + I)"
        key = frozenset((u.lower(), v.lower()))
        if key in seen:
            return f"edge {k} '{edge}' repeats edge {seen[key]} '{edges[seen[key] - 1]}'"
        seen[key] = k
    touched = list(dict.fromkeys(name for edge in edges for name in edge.split(SEPARATOR)))
    if len(touched) > dims.nodes:
        return f"the edges name {len(touched)} nodes ({', '.join(touched)}), more than the {dims.nodes} there are"
    if len(touched) < dims.nodes:
        return (f"the edges touch {len(touched)} nodes, expected all {dims.nodes} (every node needs an edge, "
                f"or it only ever sees itself)")
    return None


def checks(d, p) -> str | None:
    """Every edge joins nodes that exist, named exactly as in names."""
    known = list(p.names)
    for k, (edge, pair) in enumerate(zip(p.edges, endpoints(p.edges)), start=1):
        for name in pair:
            if name not in known:
                return (f"block 'edges': edge {k} '{edge}' names node '{name}', which is not in names "
                        f"({', '.join(known)})")
    return None


def instructive(d, p, normalize=False) -> bool:
    """Every ReLU layer passes and shuts something (where its columns differ at all), and the head
    puts nodes in both classes (Z4 of both signs, with three nodes or more)."""
    if checks(d, p):
        return False
    ref = reference(d, p, normalize)
    layers = [ref["Y1"]] + ([ref["Y2"], ref["Y3"]] if d.nodes >= 3 else [])
    if not all(has_both_signs(y) for y in layers):
        return False
    return bool(d.nodes < 3 or has_both_signs(ref["Z4"]))


def _names(rng, size, dims):
    """The first letters of the alphabet: A, B, C, …"""
    return list(LETTERS[: dims.nodes])


def _edges(rng, size, dims, params):
    """A random tree (each node joined to an earlier one with room, no node on more than three
    edges) and a few more edges between nodes with room."""
    names = list(params["names"])
    n = len(names)
    degree = [0] * n
    pairs = []
    for v in range(1, n):
        u = int(rng.choice([w for w in range(v) if degree[w] < 3] or list(range(v))))
        pairs.append((u, v))
        degree[u] += 1
        degree[v] += 1
    for _ in range(max(0, (n - 3) // 2)):
        free = [(u, v) for u in range(n) for v in range(u + 1, n)
                if (u, v) not in pairs and degree[u] < 3 and degree[v] < 3]
        if not free:
            break
        u, v = free[int(rng.integers(len(free)))]
        pairs.append((u, v))
        degree[u] += 1
        degree[v] += 1
    order = rng.permutation(len(pairs))
    return [f"{names[pairs[k][0]]}{SEPARATOR}{names[pairs[k][1]]}" for k in order]


def _forward(p, layer: int, normalize: bool) -> np.ndarray:
    """What layer ``layer``'s weights multiply (X, H1, H2 or Z3) with the givens known so far."""
    P = pooling(p["names"], p["edges"], normalize)["P"]
    a = p["X"]
    for k in range(1, layer):
        a = relu(p[f"W{k}"] @ a + p[f"b{k}"])
        if k < 3:
            a = a @ P
    return a


def _bias(layer: int):
    def derive(rng, size, dims, params):
        values = [params[f"W{layer}"] @ _forward(params, layer, normalize) for normalize in (False, True)]
        return np.array([[_centre([v[r] for v in values], rng)] for r in range(size[0])])

    derive.__doc__ = (f"Chosen after W{layer}: unit by unit, a whole number (or a half, a tenth or a twentieth "
                      "where none will do) that puts some nodes above 0 and some below, with and without normalize.")
    return derive


def _centre(rows, rng) -> float:
    """A number b such that ``row + b`` has entries of both signs for as many of ``rows`` as possible
    (where no one number serves them all, those it serves are picked at random), then the plainest
    (a whole number, a half, a tenth, a twentieth) and the smallest |b|, ties broken at random."""
    b = np.arange(-800, 801) / 20
    serves = np.array([(row[None, :] + b[:, None] > 0).any(axis=1) & (row[None, :] + b[:, None] < 0).any(axis=1)
                       for row in rows])
    count = serves.sum(axis=0)
    patterns = sorted({tuple(col) for col in serves[:, count == count.max()].T})
    chosen = patterns[int(rng.integers(len(patterns)))]
    best = b[(count == count.max()) & np.all(serves == np.array(chosen)[:, None], axis=0)]
    plain = np.select([best % 1 == 0, best % 0.5 == 0, np.isclose(best * 10 % 1, 0)], [0, 1, 2], 3)
    key = np.lexsort((rng.random(len(best)), np.abs(best), plain))
    return float(best[key[0]])


def _weight(name: str, rows: str, cols: str) -> Given:
    return Given(name, (rows, cols), role=WEIGHT, low=-1, high=1, nonzero=True, row_sum=2)


EXERCISE = Exercise(
    name="gcn",
    title="A graph convolutional network classifying nodes",
    source=Source(
        paper="Kipf & Welling (2017), Semi-supervised classification with graph convolutional networks, ICLR",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Graph Convolutional Network"),
    dims={"nodes": "nodes of the graph", "f_in": "input features", "f1": "GCN1 features",
          "f2": "GCN2 features", "hidden": "hidden units of the head"},
    presets={
        "small": dict(nodes=5, f_in=4, f1=3, f2=3, hidden=5),
        "medium": dict(nodes=6, f_in=4, f1=3, f2=3, hidden=4),
        "large": dict(nodes=8, f_in=6, f1=4, f2=4, hidden=6),
    },
    # Fresh numbers: a sparse connected graph; small weights; each bias chosen so that its layer
    # passes some nodes and shuts others with and without normalize.
    givens=[
        Given("names", ("nodes",), kind="texts", make=_names, check=check_names,
              describe="the node names, one a column (A, B, C, …)"),
        Given("edges", (), kind="texts", derive=_edges, check=check_edges,
              describe="undirected edges, each two node names joined by '-' (A-B, B-C, …)"),
        Given("X", ("f_in", "nodes"), low=-1, high=2, describe="node features, one column per node"),
        _weight("W1", "f1", "f_in"), Given("b1", ("f1", 1), role=BIAS, derive=_bias(1)),
        _weight("W2", "f2", "f1"), Given("b2", ("f2", 1), role=BIAS, derive=_bias(2)),
        _weight("W3", "hidden", "f2"), Given("b3", ("hidden", 1), role=BIAS, derive=_bias(3)),
        _weight("W4", 1, "hidden"), Given("b4", (1, 1), role=BIAS, derive=_bias(4)),
    ],
    reference=reference,
    layout=layout,
    options=[Option("normalize", False,
                    describe="pool with D^−½·(A+I)·D^−½ instead of A+I, the degrees shown")],
    limits={"nodes": (2, 16), "f_in": (1, 8), "f1": (1, 8), "f2": (1, 8), "hidden": (1, 8)},
    checks=checks,
    accept=instructive,
)
