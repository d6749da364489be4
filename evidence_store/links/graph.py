"""Cross-case links as a graph: cases and the values they share are nodes, evidence rides on the edges.

Built from what the viewer may see (``access.visible_links``): the cases they are members of, each
case linked to those (named ``case #N`` with its contact when the viewer may not see it), and one
node per shared value. A redacted case's edge says only which case holds the value and how strongly
it links. The same graph is exported (GraphML for Gephi/yEd/Cytoscape, GEXF for Gephi), drawn by
the portal, and asked for shortest paths and clusters.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import networkx as nx

from evidence_store.accounts import Principal
from evidence_store.db import Database
from evidence_store.links.access import reference, visible_links
from evidence_store.links.correlate import Evidence, Link, Settings, Side

FORMATS = (".graphml", ".gexf")
MAX_SEEDS = 12        # cases a map starts from (each is one correlation): the case and 11 more of the viewer's


def case_node(case_id: int) -> str:
    return f"case:{case_id}"


def _value_node(evidence: Evidence) -> str:
    return f"value:{evidence.kind}:{evidence.value}"


def _where(side: Side) -> str:
    offset = f" @ {side.offset:,}" if side.offset is not None else ""
    more = f" (+{side.occurrences - 1} more)" if side.occurrences > 1 else ""
    return f"{side.case} / {side.exhibit}: {side.location}{offset}{more}"


def build(db: Database, principal: Principal | None, cases: Iterable[tuple[int, str]],
          settings: Settings = Settings(), computed: dict[int, list[Link]] | None = None) -> nx.Graph:
    """The link graph around ``cases`` ((id, name) of cases the viewer may see), as ``principal`` may see it.
    ``computed``: links already listed for some of them (not asked for, nor their reveals recorded, twice)."""
    graph = nx.Graph()
    for case_id, name in cases:
        graph.add_node(case_node(case_id), type="case", label=name, case_id=case_id, visible=True, contact="")
    seeds = list(graph.nodes)
    for node in seeds:
        data = graph.nodes[node]
        links = (computed or {}).get(data["case_id"])
        for link in links if links is not None else visible_links(db, data["label"], principal, settings):
            _add_link(graph, node, link)
    _clusters(graph)
    return graph


def _add_link(graph: nx.Graph, here: str, link: Link) -> None:
    there = case_node(link.other_case_id)
    if there not in graph or not graph.nodes[there]["visible"]:
        graph.add_node(there, type="case", case_id=link.other_case_id, visible=link.revealed,
                       label=link.other_case if link.revealed else reference(link.other_case_id),
                       contact=link.contact or "")
    previous = graph.get_edge_data(here, there, {}).get("weight", 0.0)
    graph.add_edge(here, there, type="link", weight=max(previous, link.weight),
                   evidence=", ".join(f"{n} {t}" for t, n in link.counts.items() if n))
    for evidence in link.evidence:
        value = _value_node(evidence)
        if value not in graph:
            graph.add_node(value, type="value", kind=evidence.kind, label=f"{evidence.kind}: {evidence.value}",
                           visible=True, contact="")
        graph.add_edge(here, value, type="holds", weight=evidence.weight, evidence=_where(evidence.here),
                       distance=-1)
        held = _where(evidence.there) if evidence.there is not None else \
            f"held by {reference(link.other_case_id)} (contact: {link.contact or 'not recorded'})"
        if not graph.has_edge(there, value) or graph.edges[there, value]["weight"] < evidence.weight:
            graph.add_edge(there, value, type="holds", weight=evidence.weight, evidence=held,
                           distance=-1 if evidence.distance is None else evidence.distance)


def seeds(db: Database, principal: Principal | None, case_name: str) -> list[tuple[int, str]]:
    """Where a graph starts: ``case_name`` and the other cases the viewer is a member of (so paths between
    their own cases show; at most ``MAX_SEEDS`` in all, by name); without a viewer, the one case."""
    from evidence_store.accounts import member_cases
    from evidence_store.store import get_case

    with db.session() as session:
        case = get_case(session, case_name)
        found = [(case.id, case.name)]
        if principal is not None:
            found += [(c.id, c.name) for c in member_cases(session, principal.id) if c.id != case.id][:MAX_SEEDS - 1]
        return found


def _clusters(graph: nx.Graph) -> None:
    """Communities of cases (greedy modularity on the case-to-case links); values join their case's."""
    cases = graph.subgraph(n for n, d in graph.nodes(data=True) if d["type"] == "case")
    groups = nx.community.greedy_modularity_communities(cases, weight="weight") if cases.number_of_edges() else \
        [{n} for n in cases]
    order = sorted(groups, key=lambda g: (-len(g), min(g)))
    for number, group in enumerate(order):
        for node in group:
            graph.nodes[node]["cluster"] = number
    for node, data in graph.nodes(data=True):
        if data["type"] == "value":
            holders = sorted(graph.nodes[n].get("cluster", 0) for n in graph.neighbors(node)
                             if graph.nodes[n]["type"] == "case")
            data["cluster"] = holders[0] if holders else 0


def shortest_path(graph: nx.Graph, source: str, target: str) -> list[str]:
    """The strongest chain between two nodes: each hop costs 1 - weight (plus a little per hop)."""
    cases = graph.subgraph(n for n, d in graph.nodes(data=True) if d["type"] == "case")
    try:
        return nx.shortest_path(cases, source, target, weight=lambda a, b, d: 1.01 - d["weight"])
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return []


def export(graph: nx.Graph, path: Path) -> None:
    """GraphML or GEXF by the file's suffix (attributes are strings and numbers only)."""
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path.name}: give a .graphml or .gexf file")
    clean = nx.Graph()
    for node, data in graph.nodes(data=True):
        clean.add_node(node, **{k: v for k, v in data.items() if v is not None})
    for a, b, data in graph.edges(data=True):
        clean.add_edge(a, b, **{k: v for k, v in data.items() if v is not None})
    if path.suffix.lower() == ".graphml":
        nx.write_graphml(clean, path)
    else:
        nx.write_gexf(clean, path)


def layout(graph: nx.Graph, width: int = 960, height: int = 600, margin: int = 70) -> dict[str, tuple[float, float]]:
    """Positions for drawing, deterministic (fixed seed): the largest group of linked cases fills the
    left three quarters, smaller groups and unlinked cases stack in the right quarter."""
    if not graph:
        return {}
    parts = sorted((graph.subgraph(c) for c in nx.connected_components(graph)),
                   key=lambda g: (-g.number_of_nodes(), min(g.nodes)))
    boxes = [(margin, margin, width * (0.75 if len(parts) > 1 else 1.0) - margin, height - margin)]
    if len(parts) > 1:
        step = (height - 2 * margin) / (len(parts) - 1)
        boxes += [(width * 0.78, margin + i * step, width - margin, margin + (i + 1) * step - 20)
                  for i in range(len(parts) - 1)]
    placed: dict[str, tuple[float, float]] = {}
    for part, (left, top, right, bottom) in zip(parts, boxes):
        if part.number_of_nodes() == 1:
            placed[next(iter(part.nodes))] = (round((left + right) / 2, 1), round((top + bottom) / 2, 1))
            continue
        positions = nx.spring_layout(part, seed=7, weight="weight", iterations=300,
                                     k=2.0 / part.number_of_nodes() ** 0.5)
        xs = [p[0] for p in positions.values()]
        ys = [p[1] for p in positions.values()]
        span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
        for node, (x, y) in positions.items():
            placed[node] = (round(left + (x - min(xs)) / span_x * (right - left), 1),
                            round(top + (y - min(ys)) / span_y * (bottom - top), 1))
    return placed
