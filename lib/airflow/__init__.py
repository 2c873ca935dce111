"""The Airflow release: chart values, Secrets, resources, hardening, telemetry, alarms, DAG delivery."""
