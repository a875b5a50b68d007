"""The discrete-event plumbing every room stands on; it knows nothing of AKS."""
