"""`aks-sim route`: every hop of a URL with the rule that chose it, through the real script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AKS_SIM = str(Path(sys.executable).with_name("aks-sim"))
SCENARIO = str(ROOT / "scenarios" / "ingress-shop.yaml")


def route(url: str, *args: str) -> tuple[int, dict]:
    proc = subprocess.run([AKS_SIM, "route", SCENARIO, url, "--json", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def hop(out: dict, what: str) -> dict:
    return next(h for h in out["hops"] if h["what"] == what)


def test_longest_prefix_wins_and_the_backend_service_is_named() -> None:
    """/api/cart/items: Prefix /api/cart beats / (longest match, ingress.md)."""
    code, out = route("https://shop.example.com/api/cart/items")
    assert code == 0 and out["answered"]
    rule = hop(out, "ingress rule")
    assert "shop/cart" in rule["detail"] and "HTTP 200" in rule["detail"]
    assert any("longest path wins" in w for w in rule["why"])
    assert "3 endpoints" in hop(out, "service")["detail"]
    assert "Local" in hop(out, "load balancer")["detail"]


def test_wildcard_host_covers_one_label_only() -> None:
    """*.example.com matches www.example.com, not a.b.example.com (ingress.md hostname wildcards)."""
    assert "shop/storefront" in hop(route("http://www.example.com/x")[1], "ingress rule")["detail"]
    code, out = route("http://a.b.example.com/x")
    assert code == 1 and "404" in out["verdict"]


def test_a_killed_backend_has_no_endpoint_until_replacements_are_ready() -> None:
    """At 10m the cart pods are killed: for the propagation delay (1 s) the endpoints still
    list them (requests time out), then none is ready (503), then the replacements serve."""
    code, out = route("https://shop.example.com/api/cart", "--at", "10m0.5s")
    assert code == 1 and "times out" in out["verdict"]
    code, out = route("https://shop.example.com/api/cart", "--at", "10m3s")
    assert code == 1 and "503" in out["verdict"]
    code, out = route("https://shop.example.com/api/cart", "--at", "11m")
    assert code == 0


def test_bad_time_is_a_clear_error() -> None:
    proc = subprocess.run([AKS_SIM, "route", SCENARIO, "http://x/", "--at", "soon"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "--at" in proc.stderr and "Traceback" not in proc.stderr


def test_a_load_balancer_service_is_traced_without_an_ingress_controller() -> None:
    """netpol-rollout-cuts-backend: no ingress controller, a LoadBalancer Service with
    externalTrafficPolicy Cluster. Before the 10m rollout the request is answered; under the
    ipBlock policy the pods see the node's address (kube-proxy masquerades: virtual-ips.md),
    so only connections through the pod's own node pass: partly dropped; after the 20m
    rollback answered again."""
    path = str(ROOT / "scenarios" / "netpol-rollout-cuts-backend.yaml")

    def at(t: str) -> tuple[int, dict]:
        proc = subprocess.run([AKS_SIM, "route", path, "http://storefront.shop/", "--json",
                               "--at", t], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert "Traceback" not in proc.stderr
        return proc.returncode, json.loads(proc.stdout)

    code, out = at("5m")
    assert code == 0 and out["outcome"] == "ok"
    assert [h["what"] for h in out["hops"]][1:5] == ["NSG", "load balancer", "backend nodes",
                                                     "kube-proxy"]
    code, out = at("15m")
    assert out["outcome"] == "partial" and hop(out, "network policy")["detail"] == "partial"
    assert at("25m")[1]["outcome"] == "ok"


def test_from_a_pod_the_name_is_looked_up_and_the_cluster_ip_used() -> None:
    """--from: a controller pod calls cart by its short name from another namespace: the
    search list gives NXDOMAIN (cart.ingress-nginx.svc...), cart.shop resolves to the ClusterIP
    (dns-pod-service.md); a Deployment that does not exist is a usage error (exit 2)."""
    code, out = route("http://cart.shop/", "--from", "ingress-nginx/ingress-nginx-controller", "--at", "2m")
    assert code == 0 and out["outcome"] == "ok"
    dns = hop(out, "DNS")
    assert "cart.shop.svc.cluster.local" in dns["detail"]
    code, out = route("http://cart/", "--from", "ingress-nginx/ingress-nginx-controller", "--at", "2m")
    assert code == 1 and out["outcome"] == "dns_failure"
    proc = subprocess.run([AKS_SIM, "route", SCENARIO, "http://cart.shop/", "--from", "shop/nope"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "--from shop/nope" in proc.stderr and "Traceback" not in proc.stderr
