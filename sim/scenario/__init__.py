"""Scenario files: load (shape, then meaning) and validate, with every issue located.

``load(path)`` returns a :class:`LoadedScenario` or raises :class:`ScenarioError` listing
every error; ``validate(path)`` returns the issues (errors and warnings) without raising.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ValidationError

from sim.errors import Issue, ScenarioError
from sim.scenario import semantics
from sim.scenario.loaded import LoadedScenario, Placed, Workloads
from sim.scenario.manifests import KINDS, Deployment, HorizontalPodAutoscaler, Service
from sim.scenario.messages import issues_from
from sim.scenario.schema import ManifestFile, Scenario
from sim.scenario.yamlmarks import Located, Path, load_document, load_documents

MAX_FILE_BYTES = 8 * 2**20


def _read(path: str, at: tuple[Located, Path] | None = None) -> tuple[str | None, Issue | None]:
    def problem(msg: str) -> Issue:
        if at is None:
            return Issue("", msg, path)
        return at[0].issue(at[1], msg)

    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return None, problem(f"{path} is {size} bytes; expected at most {MAX_FILE_BYTES}")
        with open(path, encoding="utf-8") as fh:
            return fh.read(), None
    except FileNotFoundError:
        return None, problem(f"cannot read {path}: no such file")
    except IsADirectoryError:
        return None, problem(f"cannot read {path}: it is a directory, expected a YAML file")
    except UnicodeDecodeError as exc:
        return None, problem(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return None, problem(f"cannot read {path}: {exc.strerror}")


def _add_object(data: object, doc: Located, path: Path, out: Workloads,
                issues: list[Issue]) -> None:
    if not isinstance(data, dict):
        issues.append(doc.issue(path, f"expected a Kubernetes object (a mapping with apiVersion "
                                      f"and kind), got {_what(data)}"))
        return
    kind = data.get("kind")
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(sorted(KINDS))
        if isinstance(kind, str):
            issues.append(doc.issue((*path, "kind"), f"kind {kind!r} is not simulated and is "
                                    f"ignored (simulated kinds: {known})", severity="warning"))
        else:
            issues.append(doc.issue((*path, "kind"), f"expected a kind ({known}), got "
                                    f"{'nothing' if kind is None else repr(kind)}"))
        return
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        issues.extend(issues_from(exc, _root_for(model), doc, path))
        return
    placed = Placed(obj, doc, path)
    if isinstance(obj, Deployment):
        out.deployments.append(placed)
    elif isinstance(obj, HorizontalPodAutoscaler):
        out.hpas.append(placed)
    elif isinstance(obj, Service):
        out.services.append(placed)
    elif kind == "Ingress":
        out.ingresses.append(placed)
    elif kind == "Namespace":
        out.namespaces.append(placed)
    else:
        out.network_policies.append(placed)


def _what(data: object) -> str:
    if data is None:
        return "nothing"
    return {list: "a list", str: "a string", int: "a number", float: "a number",
            bool: "true or false"}.get(type(data), type(data).__name__)


def _root_for(model: type[BaseModel]) -> type[BaseModel]:
    return model


def _workloads(spec: Scenario, doc: Located, base_dir: str,
               issues: list[Issue]) -> Workloads:
    out = Workloads()
    for i, item in enumerate(spec.workloads):
        if isinstance(item, ManifestFile):
            path = os.path.join(base_dir, item.manifests)
            text, problem = _read(path, (doc, ("workloads", i, "manifests")))
            if problem or text is None:
                issues.append(problem or doc.issue(("workloads", i), "empty manifest file"))
                continue
            docs, yaml_issues = load_documents(text, os.path.relpath(path) if not
                                               os.path.isabs(item.manifests) else path)
            issues.extend(yaml_issues)
            for mdoc in docs:
                if mdoc.data is not None:
                    _add_object(mdoc.data, mdoc, (), out, issues)
        else:
            _add_object(item, doc, ("workloads", i), out, issues)
    return out


def load_text(text: str, file: str = "<scenario>", base_dir: str = ".") -> LoadedScenario:
    """Load a scenario from YAML *text*; *base_dir* resolves manifest paths.

    Raises:
        ScenarioError: listing every error (and the warnings found along the way).
    """
    doc, issues = load_document(text, file)
    if doc is None:
        raise ScenarioError(issues)
    return load_located(doc, base_dir)


def load_located(doc: Located, base_dir: str = ".") -> LoadedScenario:
    """Load a scenario from an already parsed document (a study's variant of a scenario).

    Raises:
        ScenarioError: listing every error (and the warnings found along the way).
    """
    from sim.events import known_reasons
    from sim.report import check_figure  # the report defines which figures exist

    issues: list[Issue] = []
    file = doc.file
    if not isinstance(doc.data, dict):
        raise ScenarioError([doc.issue((), f"expected a mapping with duration and cluster at the "
                                           f"top, got {_what(doc.data)}")])
    try:
        spec = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(issues_from(exc, Scenario, doc)) from None
    workloads = _workloads(spec, doc, base_dir, issues)
    issues += semantics.check(spec, doc, workloads, known_reasons(),
                              lambda name: check_figure(name, spec, workloads))
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ScenarioError(issues)
    return LoadedScenario(spec, workloads, file, issues)


def load(path: str) -> LoadedScenario:
    """Load and check the scenario file at *path*.

    Raises:
        ScenarioError: when the file cannot be read or the scenario is invalid.
    """
    text, problem = _read(path)
    if problem or text is None:
        raise ScenarioError([problem or Issue("", "empty file", path)])
    return load_text(text, path, os.path.dirname(path) or ".")


def validate(path: str) -> list[Issue]:
    """Every issue of the scenario at *path* (errors and warnings); empty when clean."""
    try:
        return load(path).warnings
    except ScenarioError as exc:
        return exc.issues


__all__ = ["LoadedScenario", "Scenario", "ScenarioError", "Workloads", "load", "load_located",
           "load_text", "validate"]
