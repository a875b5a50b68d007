"""Queueing math with no AKS in it: a pod's FIFO queue and the closed forms it is checked against."""
