"""Cross-case links (issue 13.2-13.4): planted shared content, PDQ and TLSH variants and identifiers are
found with their evidence on both sides; common and known-good content links nothing; control cases are
linked to nobody; need to know hides the other side until a reviewer of that case approves a request,
and every request, decision and reveal is a custody event in both cases."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select


from tests.link_cases import PASSWORD


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def linked(request, tmp_path_factory):
    """Five processed cases in one database on each back end (built once per back end)."""
    from tests.conftest import _new_pg_database
    from tests.link_cases import build_linked_cases

    tmp = tmp_path_factory.mktemp("links")
    patch = pytest.MonkeyPatch()
    patch.setenv("FORENSICS_KEY_DIR", str(tmp / "keys"))
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'cases.db'}"
    else:
        url, drop = _new_pg_database(request.getfixturevalue("postgres_admin_url"))
        patch.setenv("FORENSICS_DATA_DIR", str(tmp / "data"))
    cli, material = build_linked_cases(tmp, url)
    yield cli, url, material, tmp
    patch.undo()
    if drop:
        drop()


def _links(cli, case, *extra):
    return [json.loads(line) for line in cli("links", "--case", case, "--json", *extra).splitlines()]


def test_every_planted_link_is_found_with_both_sides(linked):
    cli, _, material, _ = linked
    _member(linked, "both", "examiner", "OP-A", "OP-B", "OP-C")
    for planted in material.planted:
        here, there = planted.cases
        links = {row["other_case"]: row for row in _links(cli, here, "--user", "both")}
        assert there in links, f"{planted} not found"
        evidence = [e for e in links[there]["evidence"] if e["type"] == planted.type]
        if planted.value is not None:
            evidence = [e for e in evidence if e["value"] == planted.value]
        assert evidence, f"{planted}: no {planted.type} evidence"
        e = evidence[0]
        assert e["here"]["case"] == here and e["there"]["case"] == there
        assert e["here"]["exhibit"] == "1" and e["there"]["location"].startswith("/")
        assert 0 < e["weight"] <= 1
        if planted.type == "indicator":
            assert e["here"]["offset"] is not None and e["there"]["offset"] is not None
        if planted.type in ("pdq", "tlsh"):
            assert e["distance"] > 0


def _member(linked, name, role, *cases):
    cli, url, _, tmp = linked
    from evidence_store.accounts import add_user
    from evidence_store.db import Database

    db = Database(url)
    try:
        add_user(db, name, role, PASSWORD, list(cases))
    except Exception as exc:                                       # already made by an earlier test
        assert "already exists" in str(exc)


def test_controls_common_and_known_good_link_nothing(linked):
    cli, _, material, _ = linked
    _member(linked, "all", "examiner", "OP-A", "OP-B", "OP-C", "CTRL-1", "CTRL-2")
    assert _links(cli, "CTRL-2", "--user", "all") == []
    assert _links(cli, "CTRL-1", "--user", "all") == []            # shares only a known-good file with OP-A
    a = {row["other_case"]: row for row in _links(cli, "OP-A", "--user", "all")}
    assert set(a) == {"OP-B"}                                       # common.ini is in all five: links nothing
    values = {e["value"] for e in a["OP-B"]["evidence"]}
    assert not any("common" in e["here"]["location"] for e in a["OP-B"]["evidence"])
    c = {row["other_case"]: row for row in _links(cli, "OP-C", "--user", "all")}
    assert set(c) == {"OP-B"} and values
    # strongest first; --min-weight drops weaker links
    weights = [e["weight"] for e in a["OP-B"]["evidence"]]
    assert weights == sorted(weights, reverse=True)
    assert _links(cli, "OP-A", "--user", "all", "--min-weight", "1.0") == [] or \
        all(row["weight"] >= 1.0 for row in _links(cli, "OP-A", "--user", "all", "--min-weight", "1.0"))


def test_need_to_know_request_approval_and_custody(linked):
    cli, url, _, _ = linked
    from evidence_store.db import Database
    from evidence_store.models import CustodyEvent

    _member(linked, "alice", "examiner", "OP-A")
    _member(linked, "bob", "reviewer", "OP-B")
    hidden = _links(cli, "OP-A", "--user", "alice")
    assert len(hidden) == 1 and not hidden[0]["revealed"]
    row = hidden[0]
    assert row["other_case"].startswith("case #") and "OP-B" not in json.dumps(row)
    assert row["contact"] == "unit 1, duty desk ext. 471" and row["weight"] > 0 and row["types"]
    assert all(e["there"] is None and e["here"]["case"] == "OP-A" for e in row["evidence"])
    text = cli("links", "--case", "OP-A", "--user", "alice")
    assert "need to know" in text and "OP-B" not in text and "/recovered/p.bin" not in text
    # no user at all: the same
    assert all(not r["revealed"] for r in _links(cli, "OP-A"))
    # not a member of OP-C: cannot ask about it through a case she is not in
    assert "no case 'OP-B'" in cli("links", "--case", "OP-B", "--user", "alice", code=3)
    out = cli("links", "request", "--case", "OP-A", "--other", row["other_case"], "--purpose", "same courier?",
              "--user", "alice")
    request_id = int(out.split()[1].rstrip(":"))
    assert "is pending already" in cli("links", "request", "--case", "OP-A", "--other", row["other_case"],
                                       "--purpose", "again", "--user", "alice", code=3)
    assert not _links(cli, "OP-A", "--user", "alice")[0]["revealed"]
    # only a reviewer who is a member of the case asked about decides
    assert "no link access request" in cli("links", "decide", str(request_id), "--approve", "--user", "alice", code=3)
    listed = cli("links", "requests", "--case", "OP-B", "--user", "bob")
    assert "incoming\tpending\talice\tcase #1\tsame courier?" in listed and "OP-A" not in listed
    for chain, other in (("OP-A", "OP-B"), ("OP-B", "OP-A")):       # each log names the other case by reference
        assert other not in cli("custody", "log", "--case", chain, "--json")
    cli("links", "decide", str(request_id), "--approve", "--reason", "joint operation", "--user", "bob")
    shown = _links(cli, "OP-A", "--user", "alice")
    assert shown[0]["revealed"] and shown[0]["other_case"] == "OP-B"
    assert all(e["there"]["case"] == "OP-B" for e in shown[0]["evidence"])
    db = Database(url)
    with db.session() as session:
        events = session.execute(select(CustodyEvent.chain, CustodyEvent.action, CustodyEvent.details)
                                 .where(CustodyEvent.action.in_(("link-access", "link-revealed")))).all()
    for chain in ("OP-A", "OP-B"):
        mine = [(a, json.loads(d)["change"] if a == "link-access" else "revealed") for c, a, d in events if c == chain]
        assert ("link-access", "requested") in mine and ("link-access", "approved") in mine
        assert ("link-revealed", "revealed") in mine
    assert not any(c not in ("OP-A", "OP-B") for c, _, _ in events)
    cli("custody", "verify", "--case", "OP-A")
    cli("custody", "verify", "--case", "OP-B")


def test_graph_export_paths_and_clusters(linked, tmp_path):
    import networkx as nx

    from evidence_store.accounts import principal_named
    from evidence_store.db import Database
    from evidence_store.links import graph

    cli, url, _, _ = linked
    _member(linked, "all", "examiner", "OP-A", "OP-B", "OP-C", "CTRL-1", "CTRL-2")
    cli("links", "--case", "OP-A", "--user", "all", "--graph", str(tmp_path / "g.graphml"))
    cli("links", "--case", "OP-A", "--user", "all", "--graph", str(tmp_path / "g.gexf"))
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert nx.read_gexf(tmp_path / "g.gexf").number_of_nodes() == g.number_of_nodes()
    cases = {d["label"] for n, d in g.nodes(data=True) if d["type"] == "case"}
    assert cases == {"OP-A", "OP-B", "OP-C", "CTRL-1", "CTRL-2"}
    values = [d["label"] for n, d in g.nodes(data=True) if d["type"] == "value"]
    assert "email: broker77@quickpost.org" in values
    db = Database(url)
    built = graph.build(db, principal_named(db, "all"), graph_seeds(db))
    names = {n: d["label"] for n, d in built.nodes(data=True)}
    ids = {label: n for n, label in names.items()}
    assert [names[n] for n in graph.shortest_path(built, ids["OP-A"], ids["OP-C"])] == ["OP-A", "OP-B", "OP-C"]
    assert graph.shortest_path(built, ids["OP-A"], ids["CTRL-1"]) == []
    clusters = {names[n]: d["cluster"] for n, d in built.nodes(data=True) if d["type"] == "case"}
    assert clusters["OP-A"] == clusters["OP-B"] == clusters["OP-C"] != clusters["CTRL-1"] != clusters["CTRL-2"]
    # need to know in the graph: alice sees OP-B only as its reference and contact
    _member(linked, "carol", "examiner", "OP-C")
    cli("links", "--case", "OP-C", "--user", "carol", "--graph", str(tmp_path / "c.graphml"))
    text = (tmp_path / "c.graphml").read_text()
    assert "OP-B" not in text and "/mail/inbox.eml" not in text and "unit 1, duty desk ext. 471" in text
    assert "broker77@quickpost.org" in text                       # her own case's value


def graph_seeds(db):
    from evidence_store.models import Case

    with db.session() as session:
        return [(c.id, c.name) for c in session.scalars(select(Case).order_by(Case.id))]


def test_bad_requests_are_refused_clearly(linked):
    cli, _, _, _ = linked
    _member(linked, "dave", "examiner", "CTRL-2")
    assert "has no link to case #1" in cli("links", "request", "--case", "CTRL-2", "--other", "1", "--purpose", "x",
                                           "--user", "dave", code=3)
    assert "no user 'nobody'" in cli("links", "--case", "OP-A", "--user", "nobody", code=3)
    assert "give a .graphml or .gexf file" in cli("links", "--case", "OP-A", "--graph", "x.png", code=2)


def test_the_report_lists_links_by_reference_only(linked, tmp_path):
    """Section 9 of the case report: the other case by reference and contact, this case's side of the evidence,
    nothing of the other case (a report leaves the unit); the same in report.json."""
    cli, _, _, _ = linked
    declaration = tmp_path / "declaration.txt"
    declaration.write_text("I declare this report true.\n")
    cli("lab", "configure", "--name", "Links Lab", "--address", "1 Road", "--declaration-file", str(declaration))
    out = tmp_path / "r.html"
    cli("report", "create", "--case", "OP-A", "--examiner", "E", "--format", "html", "-o", str(out))
    html = out.read_text()
    section = html.split("9. Links to other cases")[1].split("10. Chain of custody")[0]
    assert "case #2" in section and "unit 1, duty desk ext. 471" in section
    assert "/tmp/payload.bin" in section and "courier.k@mail-drop.net" in section
    assert "OP-B" not in html and "/recovered/p.bin" not in html and "/mail/inbox.eml" not in html
    data = json.loads(html.split('id="report-data">')[1].split("</script>")[0])
    assert [link["reference"] for link in data["links"]] == ["case #2"]
    control = tmp_path / "c.html"
    cli("report", "create", "--case", "CTRL-2", "--examiner", "E", "--format", "html", "-o", str(control))
    assert "None: no other case in the database shares" in control.read_text()


def test_vectorised_tlsh_distance_equals_the_reference_implementation():
    """Near documents are compared with a numpy TLSH distance (one pass per digest instead of one
    tlsh.diff call per pair): it must equal tlsh.diff, length term included, on every pair."""
    import os
    import random

    import tlsh

    from evidence_store.links.correlate import _pair_table, tlsh_distances, tlsh_matrix

    rng = random.Random(4)
    words = [os.urandom(3).hex() for _ in range(300)]
    digests = []
    for index in range(120):
        size = rng.randint(60, 40_000)
        data = (" ".join(rng.choice(words) for _ in range(size // 7))).encode() if index % 3 else rng.randbytes(size)
        state = tlsh.Tlsh()
        state.update(data)
        state.final()
        digests.append(state.hexdigest())
    matrix, table = tlsh_matrix(digests), _pair_table()
    for row, digest in enumerate(digests):
        assert tlsh_distances(matrix[row], matrix, table).tolist() == [tlsh.diff(digest, other) for other in digests]


def test_links_through_some_exhibits_only(linked):
    """A report covers some exhibits: its links are those through them, weights from their evidence alone."""
    from sqlalchemy import select

    from evidence_store.db import Database
    from evidence_store.links.correlate import links_of
    from evidence_store.models import Case, Exhibit

    cli, url, _, _ = linked
    db = Database(url)
    with db.reading() as session:
        op_a = session.scalar(select(Case.id).where(Case.name == "OP-A"))
        exhibit = session.scalar(select(Exhibit.id).where(Exhibit.case_id == op_a))
        every = links_of(session, op_a)
        assert [link.other_case for link in links_of(session, op_a, exhibit_ids=[exhibit])] == ["OP-B"]
        assert links_of(session, op_a, exhibit_ids=[]) == [] and every
    db.dispose()


def test_rarity_falls_with_how_common_a_value_is():
    from evidence_store.links.correlate import combine, rarity

    assert rarity(2, 2) == 1.0 and rarity(2, 3) == 1.0 and rarity(2, 100) == 1.0
    assert rarity(3, 3) == 0.0                                   # every case has it
    assert rarity(4, 5) == 0.0 and rarity(51, 100) == 0.0       # more than half of them, from four cases on
    assert 0 < rarity(10, 100) < rarity(3, 100) < 1
    assert rarity(1, 10) == 0.0
    assert combine([0.5, 0.5]) == 0.75 and combine([]) == 0.0 and combine([1.0, 0.2]) == 1.0
