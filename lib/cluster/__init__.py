"""The EKS cluster: its versions, managed add-ons, Helm add-ons, node groups and pod placement."""
