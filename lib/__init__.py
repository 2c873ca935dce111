"""Pure helpers: plain data and functions, no Pulumi resources, tested without mocks.

Sub-packages by feature: `network`, `cluster`, `database`, `airflow`, `observability`, `security`.
At the top level only what every feature uses:
- `naming`: resource names and tags, for every component;
- `merge`: Helm values from parts (each value with one owner, the list keys adding up, the user's
  overrides last), for the Airflow values and the cluster add-ons;
- `images`: where every image comes from (upstream or the pull-through cache);
- `kubernetes_names`: the API server's name rules, for labels, Secrets and service accounts;
- `aws_catalog`: AWS's own lists (EC2 instance types, RDS classes), for node groups and the database;
- `quantities`: Kubernetes CPU and memory quantities as numbers, for the Airflow settings and `reports`.
What reads a plan lives in `reports/`, outside this package.
"""
