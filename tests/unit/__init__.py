"""Pure units: no Pulumi program runs."""
