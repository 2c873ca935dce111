"""Pure helpers (naming, CIDR math, Helm values): no Pulumi resources, tested without mocks."""
