"""Azure resources the cluster stands in: the virtual network, NSGs and VM sizes."""
