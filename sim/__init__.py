"""aks-sim: a discrete-event model of Azure Kubernetes Service networking."""
