"""docker-compose.yml and the Dockerfile: valid Compose, and what matters to users (healthchecks,
ports on 127.0.0.1 only, mounted files present)."""

from __future__ import annotations

import importlib.resources
import json
import re
import tomllib

import jsonschema
from stackfiles import COMPOSE, ROOT, compose, mounts


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    """The schema is the one check-jsonschema ships (vendor.compose-spec): no network needed."""
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"] == "Compose Specification"
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{COMPOSE.name}: {'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_stack_has_the_four_services() -> None:
    assert set(compose()["services"]) == {"mosquitto", "prometheus", "grafana", "simsvc"}
    assert compose()["services"]["simsvc"]["build"]["dockerfile"] == "Dockerfile"


def test_every_service_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_every_published_port_binds_loopback_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert re.fullmatch(r"127\.0\.0\.1:\d+:\d+(/tcp|/udp)?", str(port)), \
                    f"{name}: port {port!r} is not bound to 127.0.0.1"
        assert "network_mode" not in service, f"{name}: network_mode host would bypass the bindings"


def test_every_mounted_config_file_exists() -> None:
    seen = 0
    for name in compose()["services"]:
        for source, _inside in mounts(name):
            assert source.exists(), f"{name} mounts {source.relative_to(ROOT)}, which does not exist"
            assert source.is_relative_to(ROOT), f"{name} mounts {source} from outside the repository"
            seen += 1
    assert seen >= 8


def test_the_service_image_is_slim_non_root_and_health_checked() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the service must not run as root"
    assert re.search(r"^HEALTHCHECK .*", text, re.M) and "/healthz" in text
    for copied in re.findall(r"^COPY\s+(\S+)", text, re.M):
        assert (ROOT / copied).exists(), f"the Dockerfile copies {copied}, which does not exist"
    # every top-level package pyproject.toml installs, every directory it maps (the examples)
    # and the files the build reads are copied in, and none of them is docker-ignored
    copied = set(re.findall(r"^COPY\s+(\S+)", text, re.M))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = project["tool"]["setuptools"]
    needed = {p.split(".")[0] for p in setuptools["packages"]} - set(setuptools["package-dir"])
    needed |= set(setuptools["package-dir"].values()) | set(project["project"]["license-files"])
    needed |= {"pyproject.toml", "README.md"}
    for path in needed:
        assert path in copied, f"the Dockerfile does not copy {path}"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".git" in ignored
    assert not needed & set(ignored), f".dockerignore drops {sorted(needed & set(ignored))}"


def test_the_service_is_configured_through_its_settings() -> None:
    """Every AKSSIM_* variable the compose file sets is a field of services/settings.py."""
    from services.settings import Settings

    env = compose()["services"]["simsvc"]["environment"]
    for key in env:
        assert key.startswith("AKSSIM_") and key[7:].lower() in Settings.model_fields, key
    assert env["AKSSIM_MQTT"] == "mqtt://mosquitto:1883"
