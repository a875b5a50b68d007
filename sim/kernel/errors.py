"""The error hierarchy: misuse and bugs are exceptions; outcomes of the model are events."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a scenario, located as precisely as the input allows."""

    path: str
    """Dotted field path in the scenario, e.g. ``cluster.nodePools[1].maxPods``."""
    message: str
    """What was found and what was expected (and the fix, when known)."""
    file: str = ""
    line: int = 0
    """1-based line, 0 when unknown."""
    column: int = 0
    """1-based column, 0 when unknown."""
    severity: str = "error"
    """``error`` (the scenario cannot run) or ``warning`` (it runs, but AKS would object)."""

    def render(self) -> str:
        """Format compiler-style: ``file:line:col: path: message``."""
        where = self.file or "<scenario>"
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        path = f"{self.path}: " if self.path else ""
        return f"{where}: {prefix}{path}{self.message}"


class SimError(Exception):
    """Base of every error the simulator raises on purpose."""


@dataclass
class ScenarioError(SimError):
    """The scenario is invalid; ``issues`` lists every problem found, not just the first."""

    issues: list[Issue] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(i.render() for i in self.issues)


class ModelError(SimError):
    """The model reached a state it should never reach: a bug in aks-sim."""


class FaultError(SimError):
    """A fault cannot apply right now (e.g. failing a node that is already gone)."""
