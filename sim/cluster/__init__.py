"""The cluster's machines: node lifecycle and repair (nodes), kube-scheduler (scheduler) and
the cluster-autoscaler (autoscaler)."""
