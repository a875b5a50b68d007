"""Fault commands over MQTT through a real Mosquitto running the shipped ACL: only the chaos
user's commands reach the service; every command gets an acknowledgement."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import aiomqtt
import httpx
from servers import mosquitto, need

from services.http.app import create_app
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "cmd-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _command(port: int, user: str, password: str, run: str, body: dict) -> dict | None:
    """Publish a command as *user*; the acknowledgement, or None when none comes."""
    async with aiomqtt.Client("127.0.0.1", port, username=user, password=password) as client:
        await client.subscribe(f"akssim/{run}/commands/faults/ack", qos=1)
        await client.publish(f"akssim/{run}/commands/faults", json.dumps(body), qos=1)
        try:
            msg = await asyncio.wait_for(anext(aiter(client.messages)), 3)
        except (TimeoutError, aiomqtt.MqttError):
            return None
        return json.loads(msg.payload)


async def test_only_the_chaos_user_can_command(tmp_path: Path) -> None:
    passwd = need("mosquitto_passwd")
    pwfile = tmp_path / "passwd"
    for i, (user, pw) in enumerate((("akssim", "svc-pass"), ("chaos", "chaos-pass"), ("eve", "eve-pass"))):
        subprocess.run([passwd, *(["-c"] if i == 0 else []), "-b", str(pwfile), user, pw], check=True)
    os.chmod(pwfile, 0o644)
    acl = ROOT / "deploy" / "mosquitto" / "acl"
    extra = f"allow_anonymous true\npassword_file {pwfile}\nacl_file {acl}\n"
    with mosquitto(tmp_path, extra=extra) as broker:
        settings = Settings(api_token=TOKEN, runs_dir=tmp_path / "runs", mqtt=broker.url,
                            mqtt_username="akssim", mqtt_password="svc-pass")
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                        base_url="http://s") as c:
            r = await c.post("/v1/runs", headers=AUTH, json={
                "scenario": "zone-failure", "runId": "c1", "speed": 10})
            assert r.status_code == 201, r.text
            kill = {"fault": "pod_kill", "deployment": "shop/checkout", "count": 1}
            assert await _command(broker.port, "eve", "eve-pass", "c1", kill | {"commandId": "e"}) is None
            assert "Denied PUBLISH" in broker.log.read_text(errors="replace")
            ack = await _command(broker.port, "chaos", "chaos-pass", "c1", kill | {"commandId": "c"})
            assert ack is not None and ack["ok"] is True and ack["commandId"] == "c"
            bad = await _command(broker.port, "chaos", "chaos-pass", "c1", {"fault": "meteor"})
            assert bad is not None and bad["ok"] is False and "not a fault" in bad["error"]
            gone = await _command(broker.port, "chaos", "chaos-pass", "nope", kill)
            assert gone is not None and gone["ok"] is False and "no run 'nope'" in gone["error"]
            run = (await c.get("/v1/runs/c1", headers=AUTH)).json()
            assert [f["fault"]["fault"] for f in run["faults"]] == ["pod_kill"]
            await c.post("/v1/runs/c1/stop", headers=AUTH)
