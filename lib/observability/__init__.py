"""Alarms, the dashboard, and where metrics and logs go in CloudWatch."""
