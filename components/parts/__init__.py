"""Helpers the components share (Helm releases, IAM roles, KMS keys, security group rules, outputs,
aliases...): functions that register resources inside a component, none a ComponentResource."""
