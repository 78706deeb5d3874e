"""The FastAPI application of the central server (中心服务)."""

from __future__ import annotations

from fastapi import FastAPI

from central import __doc__ as central_doc


def create_app() -> FastAPI:
    """Build the application; routes are added per area as the server grows."""
    app = FastAPI(
        title="乐山市社会保障卡中心服务",
        description=central_doc or "",
        version="0.1.0",
    )

    @app.get("/health", tags=["运维"], summary="健康检查")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
