"""Whole-program plans: the program run offline (`run_program`, the session's dev/prod plans)."""
