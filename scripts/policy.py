"""The policy pack over offline plans, then the AZ-loss table (`make policy`; reports/guardrails.py).

python scripts/policy.py build/plan-prod.json [more plans]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reports.guardrails import main

if __name__ == "__main__":
    sys.exit(main())
