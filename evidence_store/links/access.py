"""Need to know: who may see the other side of a link, requests to see it, and the custody of both.

A person sees the other case's side of a link (its name, exhibits, paths, values found there) when
they are a member of that case, or when a reviewer who is a member of it approved their request for
this pair of cases. Everyone else sees only that the link exists, its types and weight, and the
owning case's contact. Every request, every decision and every reveal to a non-member is a custody
event in *both* cases' chains, so each unit's auditor can say who learnt what about its case; each
chain names its own case and the other one only by reference and contact (a chain is read by its
case's members and exported out of the unit).
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.accounts import AccountError, Principal, is_member
from evidence_store.custody.ledger import Event, append
from evidence_store.db import Database
from evidence_store.links.correlate import Link, Settings, links_of, redacted
from evidence_store.models import AccessState, Case, LinkAccess, Role, User
from evidence_store.store import StoreError

DECIDERS = frozenset({Role.REVIEWER})


def reference(case_id: int) -> str:
    """How a case is named to someone who may not see it."""
    return f"case #{case_id}"


def link_json(link: Link) -> dict:
    """A link as the CLI's --json and the portal's API give it (already redacted where need be)."""
    from dataclasses import asdict

    return {"other_case": link.other_case if link.revealed else reference(link.other_case_id),
            "other_case_id": link.other_case_id, "revealed": link.revealed, "contact": link.contact,
            "weight": link.weight, "types": list(link.types), "counts": link.counts,
            "evidence": [asdict(e) for e in link.evidence]}


def member_case(session: Session, name: str, principal: Principal | None) -> Case:
    """The case, if it exists and (given a principal) they are a member: one message either way, so case
    names cannot be probed."""
    case = session.scalar(select(Case).where(Case.name == name))
    if case is None or (principal is not None and not is_member(session, principal.id, case.id)):
        raise StoreError(f"no case {name!r}")
    return case


def granted(session: Session, user_id: int, case_id: int, other_case_id: int) -> bool:
    return session.scalar(select(LinkAccess.id).where(
        LinkAccess.user_id == user_id, LinkAccess.case_id == case_id, LinkAccess.other_case_id == other_case_id,
        LinkAccess.state == AccessState.APPROVED)) is not None


def _events(session: Session, action: str, cases: tuple[Case, Case], actor: tuple[str, str], purpose: str,
            key: str, details: dict) -> None:
    """The event in both cases' chains, each naming its own case and the other by reference and contact."""
    for here, there in (cases, cases[::-1]):
        append(session, Event(action=action, actor=actor[0], actor_role=actor[1], case_name=here.name,
                              purpose=purpose, idempotency_key=f"{key}:{here.name}",
                              details={**details, "case": here.name, "other": reference(there.id),
                                       "other_contact": there.contact}))


def visible_links(db: Database, case_name: str, principal: Principal | None, settings: Settings = Settings(),
                  purpose: str = "cross-case links") -> list[Link]:
    """The links of ``case_name`` as ``principal`` may see them (None: nobody in particular, so every other
    case redacted — used for reports). Reveals to non-members by approved request are recorded.

    Correlation reads a snapshot (no write lock while it runs); only the reveal events are written."""
    shown, revealed = [], []
    with db.reading() as session:
        case = member_case(session, case_name, principal)
        for link in links_of(session, case.id, settings):
            if principal is None:
                shown.append(redacted(link))
            elif is_member(session, principal.id, link.other_case_id):
                shown.append(link)
            elif granted(session, principal.id, case.id, link.other_case_id):
                shown.append(link)
                revealed.append(link)
            else:
                shown.append(redacted(link))
    if revealed:
        now = datetime.now(timezone.utc).isoformat()
        with db.session() as session:
            here = member_case(session, case_name, principal)
            for link in revealed:
                other = session.get(Case, link.other_case_id)
                _events(session, "link-revealed", (here, other), principal.actor, purpose,
                        f"link-revealed:{here.id}:{other.id}:{principal.name}:{now}",
                        {"user": principal.name, "weight": link.weight, "evidence": len(link.evidence),
                         "types": list(link.types)})
    return shown


def request_access(db: Database, principal: Principal, case_name: str, other_case_id: int, purpose: str,
                   settings: Settings = Settings()) -> LinkAccess:
    """Asks to see the other side of the links between ``case_name`` and case ``other_case_id``. The link is
    checked on a snapshot first (correlation takes no write lock), then the request is written."""
    if not purpose or not purpose.strip():
        raise StoreError("a purpose is required to ask for another case's side of a link")
    with db.reading() as session:
        case = member_case(session, case_name, principal)
        linked = other_case_id != case.id and any(
            link.other_case_id == other_case_id for link in links_of(session, case.id, settings))
    if not linked:
        raise StoreError(f"case {case_name!r} has no link to {reference(other_case_id)}")
    with db.session() as session:
        case, other = member_case(session, case_name, principal), session.get(Case, other_case_id)
        if is_member(session, principal.id, other.id):
            raise StoreError(f"{principal.name} is a member of {reference(other.id)} already")
        pending = session.scalar(select(LinkAccess).where(
            LinkAccess.user_id == principal.id, LinkAccess.case_id == case.id, LinkAccess.other_case_id == other.id,
            LinkAccess.state.in_((AccessState.PENDING, AccessState.APPROVED))))
        if pending is not None:
            raise StoreError(f"request {pending.id} for {reference(other.id)} is {pending.state.value} already")
        row = LinkAccess(user_id=principal.id, case_id=case.id, other_case_id=other.id, purpose=purpose.strip())
        session.add(row)
        session.flush()
        _events(session, "link-access", (case, other), principal.actor, purpose.strip(),
                f"link-access:request:{row.id}", {"change": "requested", "request": row.id, "user": principal.name})
        session.expunge(row)
        return row


def decide(db: Database, principal: Principal, request_id: int, approve: bool, reason: str = "") -> LinkAccess:
    """A reviewer who is a member of the case asked about approves or refuses a request (the row is locked,
    so two reviewers deciding at once cannot both decide it)."""
    with db.session() as session:
        row = session.get(LinkAccess, request_id, with_for_update=True)
        if row is None or not is_member(session, principal.id, row.other_case_id):
            raise StoreError(f"no link access request {request_id}")
        if principal.role not in DECIDERS:
            raise AccountError(f"only a reviewer of {reference(row.other_case_id)} may decide; "
                               f"{principal.name} is {principal.role.value}")
        if row.state != AccessState.PENDING:
            raise StoreError(f"request {request_id} was {row.state.value} already")
        if row.user_id == principal.id:
            raise AccountError("a request is decided by someone other than its requester")
        row.state = AccessState.APPROVED if approve else AccessState.REFUSED
        row.decided_by, row.decided_at, row.reason = principal.id, datetime.now(timezone.utc), reason or None
        case, other = session.get(Case, row.case_id), session.get(Case, row.other_case_id)
        requester = session.get(User, row.user_id)
        _events(session, "link-access", (case, other), principal.actor, row.purpose,
                f"link-access:decision:{row.id}",
                {"change": row.state.value, "request": row.id, "user": requester.name, "reason": reason or None})
        session.flush()
        session.expunge(row)
        return row


def requests_for(session: Session, principal: Principal, case_id: int) -> list[dict]:
    """Requests about ``case_id`` (incoming, for its members) and from it by ``principal`` (outgoing). The
    case on the other end is named only where the viewer may see it (member, or an approved request)."""
    rows = session.execute(select(LinkAccess, User.name).join(User, User.id == LinkAccess.user_id).where(
        (LinkAccess.other_case_id == case_id) | ((LinkAccess.case_id == case_id) & (LinkAccess.user_id == principal.id)))
        .order_by(LinkAccess.id)).all()
    result = []
    for row, user in rows:
        incoming = row.other_case_id == case_id
        case = session.get(Case, row.case_id if incoming else row.other_case_id)
        named = is_member(session, principal.id, case.id) or \
            (not incoming and row.state == AccessState.APPROVED)
        result.append({"id": row.id, "direction": "incoming" if incoming else "outgoing", "user": user,
                       "case": case.name if named else reference(case.id), "contact": case.contact,
                       "purpose": row.purpose, "state": row.state.value, "created_at": row.created_at,
                       "decided_at": row.decided_at, "reason": row.reason})
    return result
