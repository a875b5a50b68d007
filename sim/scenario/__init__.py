"""Scenario files: load (shape, then meaning) and validate, with every issue located.

``load(path)`` returns a :class:`LoadedScenario` or raises :class:`ScenarioError` listing
every error; ``validate(path)`` returns the issues (errors and warnings) without raising.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from sim.kernel.errors import Issue, ScenarioError
from sim.scenario import semantics
from sim.scenario.figures import check_figure
from sim.scenario.loaded import LoadedScenario, Placed, Workloads
from sim.scenario.manifests import KINDS, Deployment, HorizontalPodAutoscaler, Service
from sim.scenario.messages import issues_from
from sim.scenario.schema import ManifestFile, Scenario
from sim.scenario.yamlmarks import Located, Path, load_document, load_documents

MAX_FILE_BYTES = 8 * 2**20


def _read(path: str, at: tuple[Located, Path] | None = None) -> tuple[str | None, Issue | None]:
    """The text of the regular file at *path* (at most MAX_FILE_BYTES), or the located problem.

    Devices, FIFOs and sockets are refused before they are opened: nothing is read from them.
    """

    def problem(msg: str) -> Issue:
        if at is None:
            return Issue("", msg, path)
        return at[0].issue(at[1], msg)

    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return None, problem(f"cannot read {path}: it is a directory, expected a YAML file")
        if not stat.S_ISREG(info.st_mode):
            return None, problem(f"cannot read {path}: not a regular file (a device, FIFO or "
                                 f"socket); expected a YAML file")
        if info.st_size > MAX_FILE_BYTES:
            return None, problem(f"{path} is {info.st_size} bytes; expected at most {MAX_FILE_BYTES}")
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return None, problem(f"{path} is over {MAX_FILE_BYTES} bytes; expected at most that")
        return data.decode("utf-8"), None
    except FileNotFoundError:
        return None, problem(f"cannot read {path}: no such file")
    except UnicodeDecodeError as exc:
        return None, problem(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return None, problem(f"cannot read {path}: {exc.strerror}")


def read_file(path: str) -> tuple[str | None, Issue | None]:
    """The text of the regular file at *path* (at most MAX_FILE_BYTES), or the problem: the one
    way every command reads a user's file (never a device, FIFO or socket)."""
    return _read(path)


MAX_BUNDLE_FILES = 64
"""Files a scenario may reference (``workloads[].manifests``)."""


@dataclass(frozen=True)
class Bundle:
    """A scenario's text and the text of every file it references, keyed as it writes them.

    What ``aks-sim run --server`` sends and what a recording keeps: a scenario loaded from a
    bundle reads nothing else (no file system), so a service never opens a path a client names.
    Its keys are names, not paths: ``/etc/passwd`` or ``../x.yaml`` is only found if the
    client sent a file under that name.
    """

    text: str
    file: str
    files: dict[str, str] = field(default_factory=dict)
    base: str = ""
    """The directory the files were read from, for messages only ("" when sent by a client)."""


def bundle_key(ref: str) -> str:
    """The key a ``manifests:`` reference is looked up by in a bundle (``./a/b.yaml`` and
    ``a//b.yaml`` are ``a/b.yaml``): a name, never opened."""
    return posixpath.normpath(ref) if ref else ref


def manifest_refs(data: object) -> list[tuple[int, str]]:
    """``(index, path)`` of every ``workloads[i].manifests`` reference in parsed scenario data."""
    workloads = data.get("workloads") if isinstance(data, dict) else None
    if not isinstance(workloads, list):
        return []
    return [(i, w["manifests"]) for i, w in enumerate(workloads)
            if isinstance(w, dict) and isinstance(w.get("manifests"), str)]


def read_bundle(path: str, root: str | None = None) -> Bundle:
    """The scenario file at *path* and every file it references, read from disk.

    References resolve against the scenario's directory; with *root*, a reference that would
    leave *root* is refused (the service's own scenarios directory).

    Raises:
        ScenarioError: the scenario or a referenced file cannot be read (located issues).
    """
    text, problem = _read(path)
    if problem or text is None:
        raise ScenarioError([problem or Issue("", "empty file", path)])
    doc, _ = load_document(text, path)
    files: dict[str, str] = {}
    issues: list[Issue] = []
    base = os.path.dirname(path) or "."
    for i, ref in (manifest_refs(doc.data) if doc is not None else [])[:MAX_BUNDLE_FILES]:
        at = (doc, ("workloads", i, "manifests"))
        target = os.path.join(base, ref)
        if root is not None and not _inside(target, root):
            issues.append(doc.issue(at[1], f"expected a path inside {root}, found {ref!r}"))
            continue
        body, problem = _read(target, at)
        if problem or body is None:
            issues.append(problem or doc.issue(at[1], f"{ref}: empty manifest file"))
            continue
        files[ref] = body
    if issues:
        raise ScenarioError(issues)
    return Bundle(text, path, files, base)


def _inside(path: str, root: str) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


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
    elif kind == "StatefulSet":
        out.statefulsets.append(placed)
    elif kind == "DaemonSet":
        out.daemonsets.append(placed)
    elif kind == "PodDisruptionBudget":
        out.pdbs.append(placed)
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


def _manifest_text(item: ManifestFile, doc: Located, where: Path, base_dir: str,
                   files: Mapping[str, str] | None) -> tuple[str | None, str, Issue | None]:
    """(text, file name for messages, problem) of one ``manifests:`` reference."""
    ref = item.manifests
    if files is None:  # a scenario read from disk: the reference is a path beside it
        path = os.path.join(base_dir, ref)
        text, problem = _read(path, (doc, where))
        return text, os.path.relpath(path) if not os.path.isabs(ref) else path, problem
    key = bundle_key(ref)
    text = files.get(ref)
    if text is None:
        text = next((t for k, t in files.items() if bundle_key(k) == key), None)
    if text is None:
        sent = ", ".join(sorted(files)) or "none"
        return None, ref, doc.issue(where, f"{ref!r} was not sent with the scenario (files sent: "
                                           f"{sent}); `aks-sim run --server` sends every file "
                                           f"the scenario references")
    if not base_dir:
        return text, key, None
    path = os.path.join(base_dir, ref)
    return text, path if os.path.isabs(ref) else os.path.relpath(path), None


def _workloads(spec: Scenario, doc: Located, base_dir: str, issues: list[Issue],
               files: Mapping[str, str] | None = None) -> tuple[Workloads, bool]:
    """The scenario's Kubernetes objects, and whether every manifest file could be read."""
    out = Workloads()
    complete = True
    for i, item in enumerate(spec.workloads):
        if isinstance(item, ManifestFile):
            where = ("workloads", i, "manifests")
            text, name, problem = _manifest_text(item, doc, where, base_dir, files)
            if problem or text is None:
                issues.append(problem or doc.issue(("workloads", i), "empty manifest file"))
                complete = False
                continue
            docs, yaml_issues = load_documents(text, name)
            issues.extend(yaml_issues)
            for mdoc in docs:
                if mdoc.data is not None:
                    _add_object(mdoc.data, mdoc, (), out, issues)
        else:
            _add_object(item, doc, ("workloads", i), out, issues)
    return out, complete


def load_text(text: str, file: str = "<scenario>", base_dir: str = ".",
              files: Mapping[str, str] | None = None) -> LoadedScenario:
    """Load a scenario from YAML *text*; manifest paths resolve in *files* (a bundle: nothing
    else is read) or, without it, on disk against *base_dir*.

    Raises:
        ScenarioError: listing every error (and the warnings found along the way).
    """
    doc, issues = load_document(text, file)
    if doc is None:
        raise ScenarioError(issues)
    return load_located(doc, base_dir, files)


def load_bundle(bundle: Bundle) -> LoadedScenario:
    """Load a scenario from a :class:`Bundle` (reads no file).

    Raises:
        ScenarioError: listing every error.
    """
    return load_text(bundle.text, bundle.file, bundle.base, bundle.files)


def load_located(doc: Located, base_dir: str = ".",
                 files: Mapping[str, str] | None = None) -> LoadedScenario:
    """Load a scenario from an already parsed document (a study's variant of a scenario).

    Raises:
        ScenarioError: listing every error (and the warnings found along the way).
    """
    from sim.events import known_reasons

    issues: list[Issue] = []
    file = doc.file
    if not isinstance(doc.data, dict):
        raise ScenarioError([doc.issue((), f"expected a mapping with duration and cluster at the "
                                           f"top, got {_what(doc.data)}")])
    try:
        spec = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(_in_order(issues_from(exc, Scenario, doc), file)) from None
    workloads, complete = _workloads(spec, doc, base_dir, issues, files)
    if not complete:  # every reference to the missing objects would be one more error
        raise ScenarioError(_in_order(issues, file))
    issues += semantics.check(spec, doc, workloads, known_reasons(),
                              lambda name: check_figure(name, spec, workloads))
    issues = _in_order(issues, file)
    if spec.expect_error and not any(i.severity == "error" for i in issues):
        issues.append(doc.issue(("expectError",), UNEXPECTEDLY_VALID))
    if any(i.severity == "error" for i in issues):
        raise ScenarioError(issues)
    return LoadedScenario(spec, workloads, file, issues)


def load(path: str) -> LoadedScenario:
    """Load and check the scenario file at *path*.

    Raises:
        ScenarioError: when the file cannot be read or the scenario is invalid.
    """
    return load_bundle(read_bundle(path))


def validate(path: str) -> list[Issue]:
    """Every issue of the scenario at *path* (errors and warnings); empty when clean."""
    try:
        return load(path).warnings
    except ScenarioError as exc:
        return exc.issues


UNEXPECTEDLY_VALID = ("the scenario is valid, but expectError says it must be rejected (remove "
                      "expectError to run it)")


def rejection(path: str) -> list[str]:
    """What is wrong with a scenario's ``expectError``: each expected error (path, and text of
    its message) must be among the errors loading the scenario gives, and every error must be
    expected. Empty when the scenario is rejected exactly as it says (or has no expectError
    and is valid)."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: cannot read the scenario: {exc}"]
    expected = raw.get("expectError") if isinstance(raw, dict) else None
    expected = expected if isinstance(expected, list) else []
    errors = [i for i in validate(path) if i.severity == "error"
              and i.message != UNEXPECTEDLY_VALID]
    problems = []
    if expected and not errors:
        problems.append(f"{path}: {UNEXPECTEDLY_VALID}")
    matched: set[int] = set()
    for want in expected:
        where, text = str((want or {}).get("path", "")), str((want or {}).get("message", ""))
        hit = next((k for k, i in enumerate(errors) if i.path == where and text in i.message),
                   None)
        if hit is None:
            got = "; ".join(i.render() for i in errors) or "no error"
            problems.append(f"{path}: expected an error at {where} containing {text!r}; got: {got}")
        else:
            matched.add(hit)
    problems += [f"{path}: unexpected error: {i.render()}" for k, i in enumerate(errors)
                 if k not in matched]
    return problems


def _in_order(issues: list[Issue], file: str) -> list[Issue]:
    """*issues* as a compiler lists them: the scenario's own by line and column, then each
    other file's (manifests) the same way; the order found breaks ties."""
    return sorted(issues, key=lambda i: (i.file != file, i.file, i.line, i.column))


# The rest of the face the shells use (``services/`` imports ``sim.scenario``, never its modules).
from sim.scenario.fit import cluster_fit  # noqa: E402
from sim.scenario.schema import MAX_SEED, Fault  # noqa: E402
from sim.scenario.study import LoadedStudy, Study, load_study  # noqa: E402
from sim.scenario.units import MAX_DURATION, format_duration, parse_duration  # noqa: E402
from sim.scenario.yamlmarks import render_path  # noqa: E402

__all__ = ["MAX_BUNDLE_FILES", "MAX_DURATION", "MAX_SEED", "Bundle", "Fault", "LoadedScenario",
           "LoadedStudy", "Located", "Path", "Scenario", "ScenarioError", "Study", "Workloads",
           "bundle_key", "cluster_fit", "format_duration", "load", "load_bundle", "load_document",
           "load_documents", "load_located", "load_study", "load_text", "manifest_refs",
           "parse_duration", "read_bundle", "read_file", "rejection", "render_path", "validate"]
