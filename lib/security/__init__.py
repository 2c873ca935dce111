"""Guardrail tags for the policy pack, IAM documents, the audit trail."""
