"""``/docs`` works offline: the page and every file it references come from the service itself
(Swagger UI vendored from swagger-ui-dist), fetched through a real uvicorn socket."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import uvicorn
from servers import free_port

from services.http.app import create_app
from services.settings import Settings

TOKEN = "docs-token-0123456789ab"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_docs_and_every_asset_it_references_come_from_the_service(tmp_path: Path) -> None:
    app = create_app(Settings(api_token=TOKEN, runs_dir=tmp_path / "runs"))
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(uv.serve())
    for _ in range(500):
        if uv.started:
            break
        await asyncio.sleep(0.01)
    assert uv.started
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as c:
            assert (await c.get("/docs")).status_code == 401  # a read, like /openapi.json
            page = await c.get("/docs", headers=AUTH)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            html = page.text
            refs = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)
            spec = re.findall(r"url:\s*'([^']+)'", html)
            assert spec == ["/openapi.json"]
            assert {Path(urlsplit(r).path).suffix for r in refs} >= {".js", ".css", ".png"}, refs
            for ref in refs + spec:
                url = urljoin(f"{base}/docs", ref)
                assert urlsplit(url).netloc == f"127.0.0.1:{port}", f"{ref} is not served here"
                r = await c.get(url, headers=AUTH)
                assert r.status_code == 200 and r.content, (ref, r.status_code)
                if ref.endswith(".js"):
                    assert "javascript" in r.headers["content-type"]
                    assert b"SwaggerUIBundle" in r.content
                elif ref.endswith(".css"):
                    assert r.headers["content-type"].startswith("text/css")
                    assert b".swagger-ui" in r.content
            assert "http://" not in html.replace(base, "") and "https://" not in html
            assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
            missing = await c.get("/docs/assets/nothing.js")
            assert missing.status_code == 404
            assert missing.headers["content-type"] == "application/problem+json"
    finally:
        uv.should_exit = True
        await asyncio.wait_for(task, 30)
