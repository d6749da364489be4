"""Cross-case links in the portal: the list, the map, requests to see the other side (docs/links.md).

The same ``evidence_store.links`` functions as ``forensics links``: what a person sees of another
case follows need to know (``links.access``); the map is drawn on the server as SVG (no script;
evidence on hover is each edge's SVG ``<title>``), with the strongest path between two cases and
clusters of cases in colour.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from evidence_store.links import graph as link_graph
from evidence_store.links.access import decide, link_json, reference, request_access, requests_for, visible_links
from evidence_store.links.correlate import Link
from evidence_store.portal.access import Access, Denied, need, wants_json
from evidence_store.portal.rules import Permission
from evidence_store.portal.urls import part

router = APIRouter()
WIDTH, HEIGHT = 960, 560


@router.get("/api/cases/{case}/links")
def links_api(request: Request, access: Access = Depends(need(Permission.LINKS))) -> list[dict]:
    return [link_json(link) for link in visible_links(request.app.state.db, access.case_name, access.principal)]


def _map(request: Request, access: Access, links: list[Link], source: str | None, target: str | None) -> dict:
    db = request.app.state.db
    built = link_graph.build(db, access.principal, link_graph.seeds(db, access.principal, access.case_name),
                             computed={access.case_id: links})
    places = link_graph.layout(built, WIDTH, HEIGHT)
    path = link_graph.shortest_path(built, source, target) if source and target else []
    on_path = {frozenset(pair) for pair in zip(path, path[1:])}
    nodes = [{"id": n, "x": places[n][0], "y": places[n][1], **d} for n, d in built.nodes(data=True)]
    edges = [{"x1": places[a][0], "y1": places[a][1], "x2": places[b][0], "y2": places[b][1], "path": frozenset((a, b))
              in on_path, **d} for a, b, d in built.edges(data=True) if d["type"] == "holds" or frozenset((a, b))
             in on_path]
    cases = sorted(((n["id"], n["label"]) for n in nodes if n["type"] == "case"), key=lambda c: c[1])
    names = {n["id"]: n["label"] for n in nodes}
    return {"nodes": nodes, "edges": edges, "cases": cases, "path": [names[n] for n in path],
            "asked": bool(source and target), "clusters": len({n.get("cluster") for n in nodes if n["type"] == "case"})}


@router.get("/cases/{case}/links", response_class=HTMLResponse)
def links_page(request: Request, source: str | None = Query(None, alias="from", max_length=40),
               target: str | None = Query(None, alias="to", max_length=40),
               access: Access = Depends(need(Permission.LINKS))) -> HTMLResponse:
    from evidence_store.portal.pages import render_page

    db = request.app.state.db
    links = visible_links(db, access.case_name, access.principal)
    with db.reading() as session:
        requests = requests_for(session, access.principal, access.case_id)
    return render_page(request, "links.html", access, case=access.case_name, links=links, reference=reference,
                   map=_map(request, access, links, source, target), source=source or "", target=target or "",
                   requests=requests, width=WIDTH, height=HEIGHT)


def _back(request: Request, access: Access, payload: dict) -> Response:
    if wants_json(request):
        from fastapi.responses import JSONResponse

        return JSONResponse(payload)
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + f"/cases/{part(access.case_name)}/links",
                            status_code=303)


@router.post("/cases/{case}/links/requests")
def link_request(request: Request, other: int = Form(..., ge=1), purpose: str = Form(..., min_length=1, max_length=2000),
                 access: Access = Depends(need(Permission.LINK_REQUEST))) -> Response:
    """Ask to see the other side of this case's links to case ``other`` (a reviewer of that case decides)."""
    row = request_access(request.app.state.db, access.principal, access.case_name, other, purpose)
    return _back(request, access, {"request": row.id, "state": row.state.value})


@router.post("/cases/{case}/links/requests/{request_id}/{decision}")
def link_decide(request: Request, request_id: int, decision: str, reason: str = Form("", max_length=2000),
                access: Access = Depends(need(Permission.LINK_DECIDE))) -> Response:
    """Approve or refuse a request about this case (``decision``: approve | refuse)."""
    if decision not in ("approve", "refuse"):
        raise Denied(404, "no such decision")
    with request.app.state.db.reading() as session:
        rows = {r["id"]: r for r in requests_for(session, access.principal, access.case_id)}
    if rows.get(request_id, {}).get("direction") != "incoming":
        raise Denied(404, "no such request about this case")
    row = decide(request.app.state.db, access.principal, request_id, decision == "approve", reason)
    return _back(request, access, {"request": row.id, "state": row.state.value})
