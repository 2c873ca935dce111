"""The stack's guardrails as a Pulumi policy pack, also runnable offline over a plan file.

pulumi preview --policy-pack policy          (docs/security.md, Guardrails)
python -m policy build/plan-prod.json        (offline: violations and the AZ-loss table)
"""
