"""The data plane, tick by tick: requests from clients through DNS, the load balancer,
kube-proxy and ingress to pods, and their answers (controller and its stages)."""
