"""Study files: a base scenario, the parameters to vary, the seeds and the figures to collect.

A study is data, checked before anything runs, as a scenario is (Chaos Toolkit's
``ensure_experiment_is_valid``): first the study's own shape (pydantic), then every parameter
path against the scenario schema, then every value, by loading the base scenario with that
value in place. Every issue is located in the study file (``file:line:col: path: message``).

The grid is the product of the parameters' values, in the order written (the last parameter
varies fastest), or a seeded random sample of it; every point runs once per seed.
"""

from __future__ import annotations

import difflib
import itertools
import os
import random
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from sim.kernel.errors import Issue, ScenarioError
from sim.scenario.figures import check_figure
from sim.scenario.loaded import LoadedScenario
from sim.scenario.messages import issues_from
from sim.scenario.schema import MAX_SEED
from sim.scenario.studypaths import parse_path, resolve_path, with_values
from sim.scenario.yamlmarks import Located, Path, load_document, render_path

MAX_VALUES = 10_000
"""Values one parameter's ``range`` may expand to."""
EVENT_FIGURES = ("first", "count")
"""``first.<Reason>``: sim time of the first event of that reason (empty when none);
``count.<Reason>``: how many there were."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel,
                              populate_by_name=True, use_attribute_docstrings=True, strict=True,
                              allow_inf_nan=False)  # every number finite


class Range(_Model):
    """Evenly spaced numbers: ``from``, ``from + step``, ... up to ``to`` (inclusive)."""

    start: int | float = Field(alias="from")
    to: int | float
    step: int | float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.to < self.start:
            raise ValueError(f"expected to >= from, got from {self.start:g} and to {self.to:g}")
        if (self.to - self.start) / self.step >= MAX_VALUES:
            raise ValueError(f"expected at most {MAX_VALUES:,} values, got "
                             f"{int((self.to - self.start) / self.step) + 1:,}; use a larger step")
        return self

    def values(self) -> list[int | float]:
        """The numbers of the range; integers when from, to and step are integers."""
        n = int((self.to - self.start) / self.step + 1e-9) + 1
        if all(isinstance(v, int) for v in (self.start, self.to, self.step)):
            return [int(self.start + i * self.step) for i in range(n)]
        return [round(self.start + i * self.step, 10) for i in range(n)]


class Parameter(_Model):
    """One parameter to vary: where it is in the scenario, and its values."""

    path: str = Field(min_length=1)
    """Its path in the scenario, e.g. ``cluster.nodePools[user].maxPods`` (an index or the
    ``name`` of a list entry in brackets)."""
    name: str | None = Field(default=None, min_length=1)
    """The column name in results.csv and the report (default: the path)."""
    values: list[Any] | None = Field(default=None, min_length=1)
    range: Range | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Parameter:
        if (self.values is None) == (self.range is None):
            raise ValueError("expected exactly one of values (a list) or range "
                             "({from, to, step})")
        return self


class Sample(_Model):
    """Run a random sample of the grid's points instead of all of them."""

    count: int = Field(ge=1, le=MAX_VALUES)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Seed of the draw (the same seed draws the same points)."""


class Study(_Model):
    """A study: one scenario over a grid of parameters times seeds."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]*$")
    """Default: the file name without .yaml."""
    description: str = ""
    scenario: str = Field(min_length=1)
    """The base scenario, relative to the study file."""
    parameters: list[Parameter] = Field(min_length=1)
    seeds: int | list[Annotated[int, Field(ge=0, le=MAX_SEED)]] = 1
    """N (seeds 1..N) or a list of seeds."""
    sample: Sample | None = None
    figures: list[str] | None = None
    """Figures to collect (the ``expect:`` names of docs/scenarios.md, plus ``first.<Reason>``
    and ``count.<Reason>``); default: the key figures of the scenario."""
    outcome: str = "passed"
    """What the report's heat map shows: ``passed`` (the share of seeds whose ``expect:``
    holds) or one of the figures (its mean over the seeds)."""

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, seeds: int | list[int]) -> int | list[int]:
        if isinstance(seeds, int) and not 1 <= seeds <= MAX_VALUES:
            raise ValueError(f"expected a number of seeds between 1 and {MAX_VALUES:,}, or a "
                             f"list of seeds, got {seeds}")
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("expected at least one seed, got an empty list")
            dup = sorted({s for s in seeds if seeds.count(s) > 1})
            if dup:
                raise ValueError(f"expected distinct seeds, got {', '.join(map(str, dup))} "
                                 "more than once")
        return seeds


@dataclass
class ResolvedParameter:
    """A parameter whose path was found in the scenario schema."""

    column: str
    path: Path
    """The path in the scenario document (brackets with names resolved to indexes)."""
    values: list[Any]
    at: Path
    """Where the values were written in the study (for located issues)."""


@dataclass
class LoadedStudy:
    """A valid study: its base scenario, resolved parameters, grid points, seeds, figures."""

    spec: Study
    name: str
    file: str
    base: Located
    base_dir: str
    base_loaded: LoadedScenario
    parameters: list[ResolvedParameter]
    points: list[dict[str, Any]]
    """Grid points in run order: parameter column -> value."""
    seeds: list[int]
    figures: list[str]
    outcome: str
    warnings: list[Issue] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The parameter columns, in the order written."""
        return [p.column for p in self.parameters]

    def variant(self, point: dict[str, Any]) -> LoadedScenario:
        """The base scenario with the values of *point* in place.

        Raises:
            ScenarioError: when this combination of values makes the scenario invalid.
        """
        from sim.scenario import load_located

        return load_located(with_values(self.base, [(p.path, point[p.column])
                                                     for p in self.parameters]), self.base_dir)


# --- loading ---------------------------------------------------------------------------

def _read(path: str) -> tuple[str | None, str | None]:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(), None
    except FileNotFoundError:
        return None, f"cannot read {path}: no such file"
    except IsADirectoryError:
        return None, f"cannot read {path}: it is a directory, expected a YAML file"
    except UnicodeDecodeError as exc:
        return None, f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror}"


def default_figures(loaded: LoadedScenario) -> list[str]:
    """Key figures of a scenario: peak IP use, first allocation failure, errors, p99."""
    spec = loaded.spec
    out = ["nodes.peak", "pods.pendingFinal"]
    out += [f"subnet.{s.name}.peakUsed" for s in spec.cluster.vnet.subnets]
    out += ["first.SubnetIsFull", "first.FailedCreatePodSandBox"]
    for flow in spec.traffic.flows if spec.traffic else []:
        out += [f"flow.{flow.name}.errorRate", f"flow.{flow.name}.p99"]
    return out


def _check_figure(name: str, loaded: LoadedScenario, reasons: set[str]) -> str | None:
    kind, _, reason = name.partition(".")
    if kind in EVENT_FIGURES:
        if reason in reasons:
            return None
        close = difflib.get_close_matches(reason, sorted(reasons), n=1)
        hint = f" (did you mean {kind}.{close[0]}?)" if close else ""
        return f"{reason!r} is not an event reason the model publishes{hint}"
    why = check_figure(name, loaded.spec, loaded.workloads)
    if why is None:
        return None
    return f"{why}; or first.<Reason> / count.<Reason> of an event"


def _check_value(doc: Located, base: Located, base_dir: str, param: ResolvedParameter,
                 value: Any, at: Path) -> list[Issue]:
    from sim.scenario import load_located

    try:
        load_located(with_values(base, [(param.path, value)]), base_dir)
    except ScenarioError as exc:
        errors = [i for i in exc.issues if i.severity == "error"]
        out = []
        for issue in errors[:3]:
            if issue.path == render_path(param.path):
                why = issue.message
            else:
                elsewhere = f" (at {issue.file}:{issue.line}:{issue.column})" if issue.line else ""
                why = f"{issue.path or 'the scenario'}: {issue.message}{elsewhere}"
            out.append(doc.issue(at, f"{param.column} = {value!r} makes the scenario invalid: "
                                     f"{why}"))
        return out
    return []


def _resolve_parameters(spec: Study, doc: Located, base: Located, base_dir: str
                        ) -> tuple[list[ResolvedParameter], list[Issue]]:
    params: list[ResolvedParameter] = []
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for j, p in enumerate(spec.parameters):
        path, why = resolve_path(p.path, base.data)
        if path is None:
            issues.append(doc.issue(("parameters", j, "path"), why or ""))
            continue
        column = p.name or render_path(path)
        if column in seen or column in RESERVED:
            what = (f"parameter {seen[column]}" if column in seen else "a column of results.csv")
            issues.append(doc.issue(("parameters", j, "name" if p.name else "path"),
                                    f"column {column!r} is already {what}; expected a "
                                    "distinct name"))
            continue
        if any(q.path == path for q in params):
            issues.append(doc.issue(("parameters", j, "path"), f"{render_path(path)} is varied "
                                    "twice; expected each path once"))
            continue
        seen[column] = j
        values = p.values if p.values is not None else p.range.values()  # type: ignore[union-attr]
        at: Path = ("parameters", j, "values") if p.values is not None else ("parameters", j,
                                                                              "range")
        param = ResolvedParameter(column, path, list(values), at)
        for k, value in enumerate(values):
            where = (*at, k) if p.values is not None else at
            issues += _check_value(doc, base, base_dir, param, value, where)
        params.append(param)
    return params, issues


RESERVED = ("run", "seed", "status", "passed", "error", "events", "warnings", "run_wall_s")
"""Columns every row of results.csv has (besides the parameters and the figures)."""


def _grid(spec: Study, params: list[ResolvedParameter], doc: Located
          ) -> tuple[list[dict[str, Any]], list[Issue]]:
    combos = [dict(zip([p.column for p in params], values, strict=True))
              for values in itertools.product(*(p.values for p in params))]
    if spec.sample is None:
        return combos, []
    if spec.sample.count > len(combos):
        return [], [doc.issue(("sample", "count"), f"expected at most {len(combos)} (the grid "
                                                   f"has {len(combos)} points), got "
                                                   f"{spec.sample.count}")]
    rng = random.Random(f"{spec.sample.seed}/sample")
    return [combos[i] for i in sorted(rng.sample(range(len(combos)), spec.sample.count))], []


def load_study(path: str) -> LoadedStudy:
    """Load and check the study file at *path*: shape, parameter paths, values, figures.

    Raises:
        ScenarioError: listing every issue, located in the study (or the base scenario).
    """
    text, problem = _read(path)
    if text is None:
        raise ScenarioError([Issue("", problem or "empty file", path)])
    doc, issues = load_document(text, path)
    if doc is None:
        raise ScenarioError([_as_study(i) for i in issues])
    if not isinstance(doc.data, dict):
        raise ScenarioError([doc.issue((), "expected a study (a mapping with scenario, "
                                           f"parameters and seeds), got {type(doc.data).__name__}")])
    try:
        spec = Study.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(issues_from(exc, Study, doc)) from None
    return _load_parts(spec, doc, path)


def _as_study(issue: Issue) -> Issue:
    if "expected a scenario" in issue.message:
        return Issue(issue.path, issue.message.replace(
            "expected a scenario (a mapping with duration and cluster)",
            "expected a study (a mapping with scenario, parameters and seeds)"),
            issue.file, issue.line, issue.column, issue.severity)
    return issue


def _load_parts(spec: Study, doc: Located, path: str) -> LoadedStudy:
    from sim.events import known_reasons
    from sim.scenario import load_located

    study_dir = os.path.dirname(path) or "."
    scenario_path = os.path.normpath(os.path.join(study_dir, spec.scenario))
    text, problem = _read(scenario_path)
    if text is None:
        raise ScenarioError([doc.issue(("scenario",), problem or "empty file")])
    base, issues = load_document(text, scenario_path)
    base_dir = os.path.dirname(scenario_path) or "."
    if base is None:
        raise ScenarioError([doc.issue(("scenario",), "the base scenario is not valid YAML"),
                             *issues])
    try:
        base_loaded = load_located(base, base_dir)
    except ScenarioError as exc:
        raise ScenarioError([doc.issue(("scenario",), f"the base scenario {scenario_path} is "
                                       "invalid (its issues follow)"), *exc.issues]) from None
    params, issues = _resolve_parameters(spec, doc, base, base_dir)
    reasons = known_reasons()
    figures = spec.figures if spec.figures is not None else default_figures(base_loaded)
    for i, name in enumerate(spec.figures or []):
        why = _check_figure(name, base_loaded, reasons)
        if why:
            issues.append(doc.issue(("figures", i), why))
        elif name in RESERVED or spec.figures.index(name) != i:  # type: ignore[union-attr]
            issues.append(doc.issue(("figures", i), f"figure {name!r} is listed twice or is "
                                                    "a column of results.csv already"))
    if spec.outcome != "passed" and spec.outcome not in figures:
        issues.append(doc.issue(("outcome",), f"expected passed or one of the study's figures "
                                              f"({', '.join(figures)}), got {spec.outcome!r}"))
    points, grid_issues = _grid(spec, params, doc) if not issues else ([], [])
    issues += grid_issues
    if issues:
        raise ScenarioError(issues)
    seeds = list(range(1, spec.seeds + 1)) if isinstance(spec.seeds, int) else list(spec.seeds)
    name = spec.name or os.path.splitext(os.path.basename(path))[0]
    return LoadedStudy(spec, name, path, base, base_dir, base_loaded, params, points, seeds,
                       list(figures), spec.outcome, base_loaded.warnings)


__all__ = ["LoadedStudy", "Parameter", "Range", "ResolvedParameter", "Sample", "Study",
           "default_figures", "load_study", "parse_path", "resolve_path"]
