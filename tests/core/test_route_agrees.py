"""``aks-sim route`` follows every path the traffic plane has and agrees with it (issue 14).

For each kind of path (internet -> NSG -> Azure load balancer -> node -> kube-proxy -> pod;
pod -> CoreDNS -> Service ClusterIP -> kube-proxy -> pod; internet -> ingress controller ->
backend) a flow of the scenario runs through the traffic path, and ``route`` traces the same
request: the outcome every request of the flow got must be the one ``route`` names.

What each case must give, from the sources rather than from the code:
- a public LoadBalancer Service answers internet clients (AKS-NETWORKING.md section 4);
- ``loadBalancerSourceRanges`` become rules of AKS's managed NSG: a client outside them is
  dropped (configure-load-balancer-standard.md, "Restrict inbound traffic to specific IP ranges");
- a NetworkPolicy ``ipBlock`` sees the client's address with ``externalTrafficPolicy: Local``
  (service-traffic-policy / network-policies.md): a policy admitting only the VNet drops it;
- a pod resolves a Service by its short name through its search list (dns-pod-service.md), an
  unknown name fails (NXDOMAIN: dns_failure); an egress default-deny without a DNS rule drops
  the lookups (dns_failure, network-policies.md);
- an Ingress host listed in ``spec.tls`` is served with its certificate; one not listed gets
  ingress-nginx's self-signed default certificate ("Kubernetes Ingress Controller Fake
  Certificate", ingress-nginx user-guide/tls.md "Default SSL Certificate"), which a verifying
  client refuses (tls_error); a host no rule matches gets the default backend's 404.
"""

from __future__ import annotations

import pytest
from simkit import make_sim

from sim.views.route import trace

SCENARIO = """
duration: 30s
seed: 5
cluster:
  networkPlugin: azure
  networkPluginMode: overlay
  networkPolicy: calico
  nodePools:
    - {name: system, mode: System, count: 2}
    - {name: user, count: 2}
workloads:
  - manifests: manifests/ingress-nginx.yaml
  - {apiVersion: v1, kind: Namespace, metadata: {name: jail}}
""" + "".join(f"""
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: {name}, namespace: {ns}}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: {name}}}}}
      template:
        metadata: {{labels: {{app: {name}}}}}
        spec:
          containers:
            - name: {name}
              ports: [{{name: http, containerPort: 8080}}]
              resources: {{requests: {{cpu: 50m, memory: 64Mi}}}}
""" for ns, name in [("shop", "web"), ("shop", "api"), ("shop", "db"), ("shop", "client"),
                     ("shop", "guarded"), ("jail", "caller")]) + """
  - apiVersion: v1
    kind: Service
    metadata: {name: web-external, namespace: shop}
    spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: locked, namespace: shop}
    spec:
      type: LoadBalancer
      loadBalancerIP: 20.50.60.70
      loadBalancerSourceRanges: [198.51.100.0/24]
      selector: {app: web}
      ports: [{port: 80, targetPort: http}]
  - apiVersion: v1
    kind: Service
    metadata:
      name: web-internal
      namespace: shop
      annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}
    spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: guarded, namespace: shop}
    spec: {type: LoadBalancer, externalTrafficPolicy: Local, selector: {app: guarded},
           ports: [{port: 80, targetPort: http}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: api, namespace: shop}
    spec: {selector: {app: api}, ports: [{port: 80, targetPort: http}]}
  - apiVersion: v1
    kind: Service
    metadata: {name: db, namespace: shop}
    spec: {selector: {app: db}, ports: [{port: 80, targetPort: http}]}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: db-from-nobody, namespace: shop}
    spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: guarded-from-vnet, namespace: shop}
    spec:
      podSelector: {matchLabels: {app: guarded}}
      ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: no-egress, namespace: jail}
    spec: {podSelector: {}, policyTypes: [Egress]}
  - apiVersion: networking.k8s.io/v1
    kind: Ingress
    metadata: {name: shop, namespace: shop}
    spec:
      ingressClassName: nginx
      tls: [{hosts: [a.example.com], secretName: a-tls}]
      rules:
        - host: a.example.com
          http: {paths: [{path: /, pathType: Prefix,
                          backend: {service: {name: api, port: {number: 80}}}}]}
        - host: b.example.com
          http: {paths: [{path: /, pathType: Prefix,
                          backend: {service: {name: api, port: {number: 80}}}}]}
traffic:
  ingressController: {service: ingress-nginx/ingress-nginx-controller}
  flows:
    - {name: lb-ok, to: {service: shop/web-external}, rate: {profile: constant, rps: 20}}
    - {name: lb-nsg, to: {service: shop/locked}, rate: {profile: constant, rps: 20}}
    - {name: lb-policy, to: {service: shop/guarded}, rate: {profile: constant, rps: 20}}
    - {name: pod-ok, from: pods, client: shop/client, to: {service: shop/api},
       rate: {profile: constant, rps: 20}}
    - {name: pod-policy, from: pods, client: shop/client, to: {service: shop/db},
       rate: {profile: constant, rps: 20}}
    - {name: pod-nxdomain, from: pods, client: shop/client, to: {service: shop/api},
       dnsName: apii, rate: {profile: constant, rps: 20}}
    - {name: pod-no-dns, from: pods, client: jail/caller, to: {service: shop/api},
       dnsName: api.shop, rate: {profile: constant, rps: 20}}
    - {name: ingress-ok, ingress: {host: a.example.com, path: /x, scheme: https},
       rate: {profile: constant, rps: 20}}
    - {name: ingress-no-tls, ingress: {host: b.example.com, path: /x, scheme: https},
       rate: {profile: constant, rps: 20}}
    - {name: ingress-no-rule, ingress: {host: c.example.org, path: /x},
       rate: {profile: constant, rps: 20}}
    - {name: vm-internal, from: vnet, clientIP: 10.224.9.9, to: {service: shop/web-internal},
       rate: {profile: constant, rps: 20}}
    - {name: peered-in-range, from: peered-vnet, clientIP: 198.51.100.7,
       to: {service: shop/locked}, rate: {profile: constant, rps: 20}}
    - {name: vm-pod-ip, from: vnet, clientIP: 10.224.9.9, pods: shop/web,
       rate: {profile: constant, rps: 20}}
"""

# flow -> (the request route is asked about: URL, --from), and the outcome the sources say
CASES = {
    "lb-ok": (("http://web-external.shop/", None), "ok"),
    "lb-nsg": (("http://20.50.60.70/", None), "nsg_denied"),
    "lb-policy": (("http://guarded/", None), "denied"),
    "pod-ok": (("http://api/", "shop/client"), "ok"),
    "pod-policy": (("http://db/", "shop/client"), "denied"),
    "pod-nxdomain": (("http://apii/", "shop/client"), "dns_failure"),
    "pod-no-dns": (("http://api.shop/", "jail/caller"), "dns_failure"),
    "ingress-ok": (("https://a.example.com/x", None), "ok"),
    "ingress-no-tls": (("https://b.example.com/x", None), "tls_error"),
    "ingress-no-rule": (("http://c.example.org/x", None), "no_ingress_rule"),
    # a VM in the VNet reaches an internal load balancer (its frontend is a VNet address)
    "vm-internal": (("http://web-internal.shop/", "vnet@10.224.9.9"), "ok"),
    # loadBalancerSourceRanges admit the peered client's range (the managed NSG's rule)
    "peered-in-range": (("http://locked/", "peered-vnet@198.51.100.7"), "ok"),
    # Overlay pod IPs are not VNet addresses: nothing routes a VM's SYN to them
    # (AKS network models comparison, concepts-network-azure-cni-overlay.md)
    "vm-pod-ip": (("http://POD-IP/", "vnet@10.224.9.9"), "unroutable"),
}


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, int]]:
    sim, _ = make_sim(SCENARIO)
    figures = sim.run().figures
    out: dict[str, dict[str, int]] = {}
    for key, value in figures.items():
        parts = key.split(".")
        if parts[0] == "flow" and len(parts) == 4 and parts[2] == "cause":
            out.setdefault(parts[1], {})[parts[3]] = int(value)
        elif parts[0] == "flow" and len(parts) == 3 and parts[2] in ("requests", "errors"):
            out.setdefault(parts[1], {})[parts[2]] = int(value)
    return out


def _route(url: str, source: str | None, at: float = 15.0):  # noqa: ANN202
    from urllib.parse import urlsplit

    sim, _ = make_sim(SCENARIO)
    sim.advance_to(at)
    client_ip = "203.0.113.10"
    if source is not None and "@" in source:  # a VM client and its address
        source, client_ip = source.split("@")
    if "POD-IP" in url:  # a pod of shop/web, by its address
        pod = min(sim.model.workloads.find("shop/web").pods.values(), key=lambda p: p.name)
        from sim.azure.vnet import ip_str

        url = url.replace("POD-IP", ip_str(pod.ip))
    parts = urlsplit(url)
    return trace(sim.model, parts.hostname, parts.path, parts.scheme, source=source,
                 port=parts.port, client_ip=client_ip)


@pytest.mark.parametrize("flow", sorted(CASES))
def test_route_names_the_outcome_every_request_of_the_flow_got(
        flow: str, outcomes: dict[str, dict[str, int]]) -> None:
    (url, source), want = CASES[flow]
    got = outcomes[flow]
    total = got["requests"]
    assert total > 0
    if want == "ok":
        assert got["errors"] == 0, got
    else:
        assert got.get(want) == total, (flow, got)
    t = _route(url, source)
    assert t.outcome == want, (flow, t.verdict, [(h.what, h.detail) for h in t.hops])
    assert t.answered == (want == "ok")


def test_a_load_balancer_service_by_name_goes_through_nsg_lb_and_kube_proxy() -> None:
    """No ingress controller is needed: the hops are the NSG, the load balancer, its backend
    nodes and kube-proxy, and the policy sees the node's address (Cluster policy: SNAT)."""
    t = _route("http://web-external/", None)
    whats = [h.what for h in t.hops]
    assert whats[:5] == ["DNS", "NSG", "load balancer", "backend nodes", "kube-proxy"], whats
    assert "no ingress controller" not in " ".join(h.detail for h in t.hops)


def test_a_cluster_ip_service_is_not_exposed_to_the_internet() -> None:
    t = _route("http://api.shop.svc.cluster.local/", None)
    assert t.outcome == "not_exposed" and not t.answered


def test_an_unknown_client_deployment_is_an_error() -> None:
    from sim.views.route import RouteError

    with pytest.raises(RouteError, match="no such Deployment"):
        _route("http://api/", "shop/nobody")


def test_a_default_certificate_for_the_host_is_accepted() -> None:
    """With --default-ssl-certificate valid for *.example.com (ingress-nginx user-guide/tls.md:
    the flag names the certificate NGINX presents where no Ingress TLS entry applies), the
    host without spec.tls is served: the flow's requests and route both succeed."""
    text = SCENARIO.replace(
        "ingressController: {service: ingress-nginx/ingress-nginx-controller}",
        "ingressController: {service: ingress-nginx/ingress-nginx-controller, "
        "defaultCertificateHosts: ['*.example.com']}")
    sim, _ = make_sim(text)
    figures = sim.run().figures
    assert figures["flow.ingress-no-tls.requests"] > 0
    assert figures["flow.ingress-no-tls.errors"] == 0
    sim, _ = make_sim(text)
    sim.advance_to(15.0)
    t = trace(sim.model, "b.example.com", "/x", "https")
    assert t.outcome == "ok" and t.answered
