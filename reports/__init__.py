"""Reports read from an offline plan (`build/plan-<stack>.json`): cost, capacity, sizing, AZ loss, diffs.

Imported by scripts, the tests and the policy pack only; may import `lib`, never the program's
components, config or Pulumi (tests/unit/test_layout.py)."""
