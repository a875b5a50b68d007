"""Workloads: Deployments, StatefulSets and DaemonSets, their pods, the scheduling queue,
kubelet start-up, the taint manager's evictions and the HPA (controller)."""
