"""Workloads: Deployments, StatefulSets and DaemonSets, their pods, the scheduling queue and
kubelet start-up (controller), with the workload kinds' rules (kinds), the taint manager's
evictions (eviction), PodDisruptionBudgets (disruption) and the HPA (hpa)."""
