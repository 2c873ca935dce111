"""Helpers the test modules share (never imported from one test module into another)."""
