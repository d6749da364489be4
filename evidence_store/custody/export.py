"""Self-contained custody bundles: JSON Lines for auditors, CASE/UCO JSON-LD for exchange.

The JSON Lines bundle (docs/custody.md) holds the header, the public keys, every
event with its hash, and every checkpoint; it can be verified with hashlib and
the ``cryptography`` package alone.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.custody.canonical import CHECKPOINT_DOMAIN, EVENT_DOMAIN, HASHED_FIELDS, canonical_json
from evidence_store.custody.service import checkpoint_rows, event_rows
from evidence_store.models import Case, CustodyKey, Exhibit

BUNDLE_FORMAT = "forensics-custody-bundle"
UUID_NAMESPACE = uuid.UUID("8f0a7c36-64a6-4b77-9a52-1d3c1f1f6a10")


def write_jsonl(session: Session, chain: str, out: TextIO, exported_at: str) -> int:
    """Writes the bundle; returns the number of events written."""
    out.write(canonical_json({"type": "header", "format": BUNDLE_FORMAT, "version": 1, "chain": chain,
                              "exported_at": exported_at, "hashed_fields": list(HASHED_FIELDS),
                              "event_domain": EVENT_DOMAIN.decode(),
                              "checkpoint_domain": CHECKPOINT_DOMAIN.decode()}) + "\n")
    for key in session.scalars(select(CustodyKey).order_by(CustodyKey.id)):
        out.write(canonical_json({"type": "key", "fingerprint": key.fingerprint, "public_key": key.public_key,
                                  "label": key.label, "created_at": key.created_at}) + "\n")
    count = 0
    for row in event_rows(session, chain):
        out.write(canonical_json({"type": "event", **row}) + "\n")
        count += 1
    for checkpoint in checkpoint_rows(session, chain):
        out.write(canonical_json({"type": "checkpoint", **checkpoint}) + "\n")
    return count


def _id(kind: str, *parts: object) -> str:
    return f"kb:{kind}-{uuid.uuid5(UUID_NAMESPACE, ':'.join(map(str, parts)))}"


def _time(value: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": value}


CONTEXT = {
    "kb": "http://example.org/kb/",
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
HASH_METHODS = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256"}


def case_graph(session: Session, chain: str) -> dict[str, Any]:
    """CASE/UCO 1.x JSON-LD: an InvestigativeAction and a ProvenanceRecord per custody event."""
    graph: dict[str, dict[str, Any]] = {}
    investigation = _id("investigation", chain)
    graph[investigation] = {"@id": investigation, "@type": "case-investigation:Investigation",
                            "uco-core:name": chain, "uco-core:object": []}
    for exhibit in session.scalars(select(Exhibit).join(Case).where(Case.name == chain).order_by(Exhibit.id)):
        graph.update({n["@id"]: n for n in _exhibit_nodes(chain, exhibit)})
    for event in event_rows(session, chain):
        for node in _event_nodes(chain, event):
            graph.setdefault(node["@id"], node)
        graph[investigation]["uco-core:object"].append({"@id": _id("action", chain, event["seq"])})
    if not graph[investigation]["uco-core:object"]:
        del graph[investigation]["uco-core:object"]
    return {"@context": CONTEXT, "@graph": list(graph.values())}


def _exhibit_nodes(chain: str, exhibit: Exhibit) -> Iterator[dict[str, Any]]:
    image = _id("image", chain, exhibit.number)
    hashes = []
    for algorithm in ("md5", "sha1", "sha256"):
        value = getattr(exhibit, algorithm)
        if value:
            hash_id = _id("hash", chain, exhibit.number, algorithm)
            hashes.append({"@id": hash_id})
            yield {"@id": hash_id, "@type": "uco-types:Hash",
                   "uco-types:hashMethod": HASH_METHODS[algorithm],   # xsd:string, as UCO 1.4 asks
                   "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value.upper()}}
    facets = [{"@id": _id("file-facet", chain, exhibit.number), "@type": "uco-observable:FileFacet",
               "uco-observable:fileName": exhibit.image_path.rsplit("/", 1)[-1]}]
    if hashes:
        facet: dict[str, Any] = {"@id": _id("content-facet", chain, exhibit.number),
                                 "@type": "uco-observable:ContentDataFacet", "uco-observable:hash": hashes}
        if exhibit.media_size is not None:
            facet["uco-observable:sizeInBytes"] = {"@type": "xsd:integer", "@value": str(exhibit.media_size)}
        facets.append(facet)
    yield from facets
    yield {"@id": image, "@type": "uco-observable:File", "uco-core:name": f"exhibit {exhibit.number}",
           "uco-core:hasFacet": [{"@id": f["@id"]} for f in facets]}


def _event_nodes(chain: str, event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    seq = event["seq"]
    action_id, record_id = _id("action", chain, seq), _id("provenance", chain, seq)
    performer = _id("identity", event["actor"])
    yield {"@id": performer, "@type": "uco-identity:Identity", "uco-core:name": event["actor"]}
    action: dict[str, Any] = {
        "@id": action_id, "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": event["action"],
        "uco-core:description": _describe(event),
        "uco-action:startTime": _time(event["occurred_at"]),
        "uco-action:endTime": _time(event["occurred_at"]),
        "uco-action:performer": {"@id": performer},
        "uco-action:result": [{"@id": record_id}],
    }
    if event.get("exhibit"):
        action["uco-action:object"] = [{"@id": _id("image", chain, event["exhibit"])}]
    if event.get("tool_name"):
        tool = _id("tool", event["tool_name"], event.get("tool_version"))
        yield {"@id": tool, "@type": "uco-tool:Tool", "uco-core:name": event["tool_name"],
               "uco-tool:version": event.get("tool_version") or ""}
        action["uco-action:instrument"] = {"@id": tool}
    yield action
    record: dict[str, Any] = {"@id": record_id, "@type": "case-investigation:ProvenanceRecord",
                              "uco-core:description": f"custody event {seq}, hash {event['event_hash']}"}
    if event.get("exhibit"):
        record["case-investigation:exhibitNumber"] = event["exhibit"]
        record["uco-core:object"] = [{"@id": _id("image", chain, event["exhibit"])}]
    yield record


def _describe(event: dict[str, Any]) -> str:
    parts = [f"{event['action']} by {event['actor']} ({event['actor_role']})"]
    for name in ("from_custodian", "to_custodian", "purpose", "authority", "location", "outcome",
                 "hash_algorithm", "hash_before", "hash_after", "hash_match", "seals_removed", "seals_applied",
                 "seal_intact", "witness"):
        if event.get(name) is not None:
            parts.append(f"{name}={event[name]}")
    return "; ".join(parts)


def write_case(session: Session, chain: str, out: TextIO) -> None:
    json.dump(case_graph(session, chain), out, indent=1, ensure_ascii=False)
    out.write("\n")
