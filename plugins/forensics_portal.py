"""Airflow plugin: the case portal inside the Airflow 3 API server, at /forensics/.

A lab that runs Airflow gets one address: the same FastAPI application ``forensics serve``
runs (evidence_store.portal), mounted as a sub-application. It reads the case database named
by ``FORENSICS_DATABASE_URL`` on the API server and is built on its first request, so loading
plugins stays cheap and a missing setting is reported as one clear error, not a crash.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/forensics"


class LazyPortal:
    """ASGI app that builds the portal on first use."""

    def __init__(self) -> None:
        self._app = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": f"{message['type']}.complete"})
            return
        if self._app is None:
            import os

            if not os.environ.get("FORENSICS_DATABASE_URL"):
                await _plain(send, 503, "FORENSICS_DATABASE_URL is not set on the Airflow API server: it names the "
                                        "case database the portal shows")
                return
            from evidence_store.portal.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ForensicsPortalPlugin(AirflowPlugin):
    name = "forensics_portal"
    fastapi_apps = [{"app": LazyPortal(), "url_prefix": URL_PREFIX, "name": "Forensics case portal"}]
