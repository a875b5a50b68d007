"""Loading scenarios: valid files load with AKS's defaults, invalid ones say where and why.

The exact messages live in the catalogue (``invalid/``, ``test_invalid.py``); these tests
state the loader's rules: what a valid scenario becomes, which defaults AKS would pick, and
that every problem is reported at the token that causes it.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from sim.engine import Simulation
from sim.kernel.errors import Issue, ScenarioError
from sim.scenario import load, load_text, validate
from sim.scenario.schema import NodePoolSpec, Scenario

ROOT = Path(__file__).resolve().parents[2]

POOLS = """
  nodePools:
    - name: system
      mode: System
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers:
        - name: web
          resources:
            requests: {cpu: 250m, memory: 512Mi}
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
"""

HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 3
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
"""


def scenario(body: str = "", *, cluster: str = "", duration: str = "30m") -> str:
    """A small valid scenario: one System pool, plus *cluster* keys and top-level *body*."""
    return (f"duration: {duration}\ncluster:\n{textwrap.indent(textwrap.dedent(cluster), '  ')}"
            f"{POOLS}{textwrap.dedent(body)}")


def inline(*manifests: str) -> str:
    """``workloads:`` with the manifests written inline as list items."""
    items = [textwrap.indent(textwrap.dedent(m).strip(), "    ").replace("    ", "  - ", 1)
             for m in manifests]
    return "workloads:\n" + "\n".join(items) + "\n"


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(ScenarioError) as info:
        load_text(text, "t.yaml")
    return info.value.issues


def token_at(text: str, issue: Issue) -> str:
    """The text of the scenario from the issue's line and column to the end of that line."""
    assert issue.line >= 1 and issue.column >= 1, issue.render()
    return text.splitlines()[issue.line - 1][issue.column - 1:]


# --- valid scenarios ---------------------------------------------------------------------

def test_inline_objects_load_by_kind() -> None:
    """Deployments, Services and HPAs written under workloads: become typed objects."""
    loaded = load_text(scenario(inline(DEPLOYMENT, SERVICE, HPA)), "t.yaml")
    assert [len(w) for w in (loaded.workloads.deployments, loaded.workloads.services,
                             loaded.workloads.hpas)] == [1, 1, 1]
    web = loaded.workloads.deployment("shop/web")
    assert web is not None and web.spec.replicas == 3
    assert web.spec.template.metadata.labels == {"app": "web", "tier": "front"}
    assert loaded.workloads.deployment("web") is web
    assert loaded.warnings == []


def test_manifests_file_loads_every_document(tmp_path: Path) -> None:
    """`{manifests: path}` reads a multi-document file, relative to the scenario's folder."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "web.yaml").write_text(f"{DEPLOYMENT}---{SERVICE}---{HPA}")
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario("workloads:\n  - manifests: k8s/web.yaml\n"))
    loaded = load(str(path))
    assert [p.obj.kind for p in (*loaded.workloads.deployments, *loaded.workloads.services,
                                 *loaded.workloads.hpas)] == [
        "Deployment", "Service", "HorizontalPodAutoscaler"]
    assert loaded.workloads.deployments[0].doc.file.endswith("web.yaml")
    assert validate(str(path)) == []


def test_inline_and_manifests_file_mix(tmp_path: Path) -> None:
    """Inline objects and manifest files can be listed together, in any order."""
    (tmp_path / "svc.yaml").write_text(SERVICE)
    body = inline(DEPLOYMENT) + "  - manifests: svc.yaml\n"
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario(body))
    loaded = load(str(path))
    assert len(loaded.workloads.deployments) == 1 and len(loaded.workloads.services) == 1


def test_validate_console_script_says_valid_on_a_valid_file(tmp_path: Path) -> None:
    """A clean scenario: `aks-sim validate` lists no issue on stdout, says so on stderr, exit 0."""
    path = tmp_path / "ok.yaml"
    path.write_text(scenario(inline(DEPLOYMENT)))
    result = subprocess.run([_script(), "validate", str(path)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"{path}: valid\n")


# --- defaults follow AKS -----------------------------------------------------------------

def test_network_plugin_omitted_means_azure_cni_overlay() -> None:
    """With no networkPlugin, AKS creates an Azure CNI Overlay cluster."""
    spec = load_text(scenario(), "t.yaml").spec
    assert spec.cluster.network_plugin is None
    assert spec.cluster.plugin == "overlay"


def test_network_defaults() -> None:
    """Pod CIDR 10.244.0.0/16, service CIDR 10.0.0.0/16, DNS service IP 10.0.0.10 (.10)."""
    c = load_text(scenario(), "t.yaml").spec.cluster
    assert c.pod_cidr == ipaddress.IPv4Network("10.244.0.0/16")
    assert c.service_cidr == ipaddress.IPv4Network("10.0.0.0/16")
    assert c.dns_service_ip == ipaddress.IPv4Address("10.0.0.10")
    assert c.zones == ["1", "2", "3"]


def test_managed_vnet_default() -> None:
    """The AKS-managed VNet is 10.224.0.0/12 with one subnet 10.224.0.0/16."""
    vnet = load_text(scenario(), "t.yaml").spec.cluster.vnet
    assert vnet.managed is True
    assert vnet.address_space == [ipaddress.IPv4Network("10.224.0.0/12")]
    assert [(s.name, s.address_prefix) for s in vnet.subnets] == [
        ("aks-subnet", ipaddress.IPv4Network("10.224.0.0/16"))]


POD_SUBNET_VNET = """
networkPlugin: azure
vnet:
  managed: false
  addressSpace: [10.1.0.0/16]
  subnets:
    - {name: nodes, addressPrefix: 10.1.0.0/22}
    - {name: pods, addressPrefix: 10.1.16.0/20}
"""


@pytest.mark.parametrize(("cluster", "pool_extra", "expected"), [
    ("networkPlugin: kubenet", "", 110),
    ("networkPlugin: azure", "", 30),
    (POD_SUBNET_VNET, "      podSubnet: pods\n", 110),
    ("networkPlugin: azure\nnetworkPluginMode: overlay", "", 250),
    ("", "", 250),
], ids=["kubenet", "azure-cni-node-subnet", "azure-cni-pod-subnet", "overlay", "omitted"])
def test_max_pods_default_per_plugin(cluster: str, pool_extra: str, expected: int) -> None:
    """maxPods defaults as in ip-address-planning: kubenet 110, node subnet 30, pod subnet 110,
    Overlay 250 (the default the model's nodes get)."""
    text = scenario(cluster=cluster) + pool_extra
    loaded = load_text(text, "t.yaml")
    assert loaded.spec.cluster.node_pools[0].max_pods is None
    pool = Simulation(loaded).model.pools["system"]
    assert pool.max_pods == expected


def test_node_pool_defaults() -> None:
    """A pool is User, 3 nodes, Standard_D4s_v3, max surge 1, no autoscaler, unless told."""
    pool = NodePoolSpec(name="user")
    assert (pool.mode, pool.count, pool.vm_size, pool.max_surge, pool.enable_auto_scaling) == (
        "User", 3, "Standard_D4s_v3", "1", False)


# --- units -------------------------------------------------------------------------------

@pytest.mark.parametrize(("written", "seconds"), [
    ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("250ms", 0.25), ("2h", 7200.0),
    ("1d", 86400.0), ("45", 45.0),
])
def test_durations_parse(written: str, seconds: float) -> None:
    """Durations are written with units (ms, s, m, h, d, combined); a bare number is seconds."""
    spec = load_text(scenario(duration=written), "t.yaml").spec
    assert spec.duration == pytest.approx(seconds)


def test_durations_parse_in_nested_fields() -> None:
    """Every duration field (timings, chaos at) uses the same units."""
    text = scenario("chaos:\n  - {at: 1m30s, fault: node_failure, duration: 250ms}\n",
                    cluster="timings: {nodeMonitorGracePeriod: 50s, nodeDrainTime: 1h}")
    spec = load_text(text, "t.yaml").spec
    assert spec.cluster.timings.node_monitor_grace_period == 50.0
    assert spec.cluster.timings.node_drain_time == 3600.0
    assert (spec.chaos[0].at, spec.chaos[0].duration) == (90.0, 0.25)


@pytest.mark.parametrize(("cpu", "millicores", "memory", "mib"), [
    ("250m", 250, "512Mi", 512),
    ("0.5", 500, "1Gi", 1024),
    ("2", 2000, "1G", 954),
    ("1500m", 1500, "256Mi", 256),
])
def test_quantities_parse(cpu: str, millicores: int, memory: str, mib: int) -> None:
    """CPU in cores or millicores (250m, 0.5); memory with binary or decimal suffixes (MiB up)."""
    manifest = DEPLOYMENT.replace("{cpu: 250m, memory: 512Mi}", f"{{cpu: '{cpu}', memory: {memory}}}")
    loaded = load_text(scenario(inline(manifest)), "t.yaml")
    requests = loaded.workloads.deployments[0].obj.spec.template.spec.containers[0].resources.requests
    assert (requests.cpu, requests.memory) == (millicores, mib)


# --- every issue, at its token ---------------------------------------------------------

SEVERAL_SHAPE = """\
duration: soon
cluster:
  nodePools:
    - name: system
      mode: System
      count: -1
      maxPods: lots
      zone: ["1"]
chaos:
  - at: 1m
    fault: node_boom
"""


def test_every_shape_issue_is_reported() -> None:
    """A file with five shape mistakes gets five issues, in the order they are written."""
    issues = issues_of(SEVERAL_SHAPE)
    assert [i.path for i in issues] == [
        "duration", "cluster.nodePools[0].count", "cluster.nodePools[0].maxPods",
        "cluster.nodePools[0].zone", "chaos[0].fault"]
    assert all(i.severity == "error" and i.file == "t.yaml" for i in issues)


SEVERAL_MEANING = scenario("""\
chaos:
  - {at: 2h, fault: zone_failure, zone: "7"}
operations:
  - {operation: scale, at: 1m, nodePool: sytem, count: 4}
""", cluster="serviceCidr: 10.0.0.0/11\ndnsServiceIP: 10.0.0.10")


def test_every_meaning_issue_is_reported() -> None:
    """Cross-field problems are all listed too, not only the first one found."""
    issues = issues_of(SEVERAL_MEANING)
    assert [i.path for i in issues] == [
        "cluster.serviceCidr", "chaos[0].at", "chaos[0].zone", "operations[0].nodePool"]


@pytest.mark.parametrize(("text", "token"), [
    (scenario(cluster="podCidr: 10.244.0.1/16"), "10.244.0.1/16"),
    (scenario().replace("mode: System", "mode: System\n      count: \"three\""), '"three"'),
    (scenario().replace("mode: System", "mode: System\n      maxPod: 30"), "maxPod: 30"),
    (scenario().replace("mode: System", "mode: System\n      mode: User"), "mode: User"),
    (scenario("expect:\n  - {event: NodeNotReady, atMost: 0, window: 5m}\n"), "window: 5m}"),
    (scenario("chaos:\n  - {at: 1m, fault: zone_failure, zone: '9'}\n"), "'9'}"),
    (scenario("operations:\n  - operation: scale\n    at: 1m\n    nodePool: nosuch\n"
              "    count: 2\n"), "nosuch"),
    (scenario(cluster="vnet:\n  managed: false\n  addressSpace: [10.1.0.0/16]\n  subnets:\n"
                      "    - {name: a, addressPrefix: 10.9.0.0/24}"), "10.9.0.0/24}"),
    (scenario("expect:\n  - event: NodeNotReady\n    atLeast: x\n"), "x"),
], ids=["cidr", "wrong-type", "unknown-key", "duplicate-key", "unknown-key-in-flow-mapping",
        "undefined-zone", "undefined-pool", "subnet-outside-vnet", "bound-not-a-number"])
def test_issue_points_at_the_offending_token(text: str, token: str) -> None:
    """line:column is where the offending value (or, for a key problem, the key) starts."""
    issues = issues_of(text)
    assert len(issues) == 1, [i.render() for i in issues]
    assert token_at(text, issues[0]) == token


def test_missing_key_points_at_the_mapping_that_lacks_it() -> None:
    """A required key that is absent is reported at the mapping it belongs in."""
    text = scenario("chaos:\n  - at: 1m\n    fault: zone_failure\n")
    (issue,) = issues_of(text)
    assert issue.path == "chaos[0].zone"
    assert token_at(text, issue) == "at: 1m"


def test_issue_in_a_manifests_file_is_located_in_that_file(tmp_path: Path) -> None:
    """An error inside a referenced manifest names the manifest file and its line."""
    (tmp_path / "web.yaml").write_text(SERVICE + "---" + DEPLOYMENT.replace("replicas: 3",
                                                                           "replicas: many"))
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario("workloads:\n  - manifests: web.yaml\n"))
    (issue,) = validate(str(path))
    assert issue.file.endswith("web.yaml") and issue.path == "spec.replicas"
    manifest = (tmp_path / "web.yaml").read_text()
    assert token_at(manifest, issue) == "many"


# --- the YAML layer never lets a traceback through ---------------------------------------

@pytest.mark.parametrize(("text", "fragment"), [
    ("duration: 30m\nloop: &x [*x]\n", "(a cycle)"),
    ("duration: " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("duration: !!int soon\n", "expected a value of YAML type int, got 'soon'"),
    ("duration: !!timestamp 2026-13-01\n", "expected a value of YAML type timestamp"),
    ("---\n", "got an empty document"),
    ("# nothing but a comment\n", "got a file with only comments"),
    ("duration: 30m\n\tcluster: {}\n", "found a tab character"),
], ids=["alias-cycle", "deep-nesting", "bad-int-tag", "bad-timestamp", "empty-document",
        "only-comments", "tab"])
def test_bad_yaml_becomes_an_issue(text: str, fragment: str) -> None:
    """Malformed or hostile YAML gives a located issue, never an exception."""
    issues = issues_of(text)
    assert len(issues) == 1
    assert fragment in issues[0].message
    assert issues[0].line >= 1


def test_alias_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Aliases that expand past the value budget are refused instead of eating the memory."""
    from sim.scenario import yamlmarks

    monkeypatch.setattr(yamlmarks, "MAX_VALUES", 1000)
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]" for p, c in zip("abc", "bcd", strict=True)]
    (issue,) = issues_of("\n".join(lines) + "\n")
    assert "expands to more than 1,000 values" in issue.message


# --- the JSON Schema ---------------------------------------------------------------------

def _script() -> str:
    beside = Path(sys.executable).with_name("aks-sim")
    found = str(beside) if beside.exists() else shutil.which("aks-sim")
    assert found, "the aks-sim console script is not installed (pip install -e .)"
    return found


@pytest.mark.parametrize("kind,pattern", [("scenario", "scenarios/*.yaml"), ("study", "studies/*.yaml")])
def test_the_printed_schema_validates_every_example(kind: str, pattern: str) -> None:
    """What `aks-sim schema` prints (`--study` for studies) is what editors check the files
    with: every example scenario and study must pass it (a `{manifests: path}` workload
    matched both branches of the workloads `oneOf` once, so editors underlined valid files)."""
    import jsonschema

    args = [_script(), "schema", *(["--study"] if kind == "study" else [])]
    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(ROOT.glob(pattern))
    assert len(files) >= (10 if kind == "scenario" else 2)
    problems = [f"{f.name}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
                for f in files for e in validator.iter_errors(yaml.safe_load(f.read_text()))]
    assert problems == []
    if kind == "scenario":
        # and a workload that is neither a manifests file nor a Kubernetes object is refused
        example = yaml.safe_load(files[0].read_text())
        assert not validator.is_valid({**example, "workloads": [{"manifest": "shop.yaml"}]})
        assert not validator.is_valid({**example, "workloads": [{"manifests": "a.yaml", "x": 1}]})


SCHEMA_CAN_TELL = ("missing-duration", "missing-cluster", "count-above-1000", "max-pods-300",
                   "max-pods-5", "duration-with-words", "vm-size-unknown", "max-surge-zero")
"""Mistakes of the invalid catalogue a JSON Schema can see without the loader's semantics:
a missing key, a number out of its range, a duration or surge not in its syntax, a VM size
that aks-sim does not know."""


def test_the_printed_schema_rejects_what_it_can_tell_of_the_invalid_catalogue() -> None:
    import jsonschema

    result = subprocess.run([_script(), "schema"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, check=False)
    validator = jsonschema.Draft202012Validator(json.loads(result.stdout))
    invalid = ROOT / "tests" / "scenario" / "invalid"
    accepted = [name for name in SCHEMA_CAN_TELL
                if validator.is_valid(yaml.safe_load((invalid / f"{name}.yaml").read_text()))]
    assert accepted == []


def test_schema_command_prints_the_json_schema() -> None:
    """`aks-sim schema` prints JSON Schema with AKS's keys and the docstrings as descriptions."""
    result = subprocess.run([_script(), "schema"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, check=False)
    assert result.returncode == 0 and result.stderr == ""
    schema = json.loads(result.stdout)
    assert {"cluster", "duration", "expect", "chaos", "workloads"} <= set(schema["properties"])
    assert set(schema["required"]) == {"cluster", "duration"}
    assert schema["additionalProperties"] is False
    assert schema["description"] == inspect.cleandoc(Scenario.__doc__ or "")
    defs = schema["$defs"]
    assert {"maxPods", "networkPlugin"} <= set(defs["NodePoolSpec"]["properties"]) | set(
        defs["ClusterSpec"]["properties"])
    assert defs["NodePoolSpec"]["properties"]["maxPods"]["description"].startswith(
        "Pods per node; the default depends on the network plugin")
    assert schema["properties"]["workloads"]["description"].startswith(
        "Inline Kubernetes objects")
    assert defs["ClusterSpec"]["properties"]["networkPlugin"]["description"] == (
        "kubenet or azure; omitted means Azure CNI Overlay, the AKS default.")
