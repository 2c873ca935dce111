"""The VPC's address plan and its availability zones."""
