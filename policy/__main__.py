"""The pack's program: `pulumi preview --policy-pack policy` (and `pulumi policy publish policy`).

The Pulumi engine's policy host runs this file as a script (`runpy.run_path` of the pack's
folder, which puts the folder on the path), so the pack imports only what its folder holds
(`airflow_eks_guardrails/`) and what `requirements.txt` installs: it can be published alone.
"""

from airflow_eks_guardrails.pack import serve

serve()
