"""Real tools on the plans: Helm renders, checkov, kubernetes-validate, the policy pack over gRPC."""
