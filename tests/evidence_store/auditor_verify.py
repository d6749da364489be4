"""An auditor's independent check of a custody bundle: hashlib, json and cryptography only.

Usage: python auditor_verify.py BUNDLE.jsonl TRUSTED_PUBLIC_KEY_HEX
Prints OK or the first problem; exit status 0 or 1. Written from docs/custody.md alone.
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def main(path, trusted_hex):
    trusted = Ed25519PublicKey.from_public_bytes(bytes.fromhex(trusted_hex))
    trusted_fp = hashlib.sha256(bytes.fromhex(trusted_hex)).hexdigest()
    lines = [json.loads(line) for line in open(path, encoding="utf-8")]
    header = lines[0]
    assert header["type"] == "header" and header["format"] == "forensics-custody-bundle"
    events = [line for line in lines if line["type"] == "event"]
    hashes = {}
    previous = "0" * 64
    for number, event in enumerate(events, start=1):
        fields = {k: v for k, v in event.items() if k not in ("type", "event_hash")}
        digest = hashlib.sha256(b"forensics-custody-event-v1\n" + canonical(fields)).hexdigest()
        if event["seq"] != number:
            return f"FAIL sequence: expected {number}, found {event['seq']}"
        if digest != event["event_hash"]:
            return f"FAIL hash of event {number}"
        if event["prev_hash"] != previous:
            return f"FAIL link at event {number}"
        hashes[number], previous = digest, digest
    checked = 0
    for checkpoint in (line for line in lines if line["type"] == "checkpoint"):
        if checkpoint["key_fingerprint"] != trusted_fp:
            return f"FAIL checkpoint at {checkpoint['seq']} signed by an untrusted key"
        message = b"forensics-custody-checkpoint-v1\n" + canonical(
            {k: checkpoint[k] for k in ("chain", "seq", "head_hash", "signed_at", "key_fingerprint")})
        trusted.verify(bytes.fromhex(checkpoint["signature"]), message)   # raises if forged
        if hashes.get(checkpoint["seq"]) != checkpoint["head_hash"]:
            return f"FAIL checkpoint at {checkpoint['seq']} does not match the chain"
        checked += 1
    return f"OK {len(events)} events, {checked} checkpoints"


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2])
    print(result)
    sys.exit(0 if result.startswith("OK") else 1)
