"""Path parts that may hold slashes (exhibit ``JS/1``) travel percent-encoded (``JS%2F1``).

Starlette routes on the decoded path, where ``%2F`` would become a separator; ``keep_slashes``
(ASGI middleware) decodes the raw path except ``%2F`` and ``%25``, and ``param`` decodes those
two in the one path parameter asked for.
"""
from __future__ import annotations

import re
from urllib.parse import quote, unquote

_KEPT = re.compile(r"(%2[Ff]|%25)")


def decode_path(raw: str) -> str:
    return "".join(part.upper() if _KEPT.fullmatch(part) else unquote(part) for part in _KEPT.split(raw))


def keep_slashes(app):
    async def middleware(scope, receive, send):
        if scope["type"] in ("http", "websocket") and scope.get("raw_path"):
            scope = dict(scope, path=decode_path(scope["raw_path"].decode("latin-1")))
        await app(scope, receive, send)
    return middleware


def param(request, name: str) -> str:
    return unquote(request.path_params[name])


def part(value: str) -> str:
    """One path part, encoded for a URL (slashes included)."""
    return quote(value, safe="")
