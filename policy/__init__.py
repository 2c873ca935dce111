"""The stack's guardrails as a Pulumi policy pack, self-contained so that it can be published alone.

pulumi preview --policy-pack policy             (docs/security.md, Guardrails)
python scripts/policy.py build/plan-prod.json   (offline: violations and the AZ-loss table)

`airflow_eks_guardrails/` holds the policies and the declaration the program stamps on its
resources; `tests/` the pack's own tests, which run in the folder alone.
"""
