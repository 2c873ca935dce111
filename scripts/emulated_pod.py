"""Kubernetes pods of the rendered chart, run as local processes (`make integration`'s Airflow run).

What a kubelet does for a container, done on this machine (standard library only):
- its environment: `envFrom` (Secrets, ConfigMaps), then `env` in order, `valueFrom` resolved
  (`secretKeyRef`, `configMapKeyRef`, `fieldRef`), `$(VAR)` references expanded as Kubernetes
  expands them (in `env` values: variables defined before; in `command`/`args`: all of them;
  `$$` escapes; an undefined reference stays as written);
- its files: every `volumeMount` of the container, from the pod's `volumes`: a ConfigMap or a
  Secret is written (all keys, or the `items`; `subPath` mounts a single key), `readOnly`
  mounts are made unwritable (files 0444, directories 0555: effective for a process that is not
  root), a `projected` volume its sources' files (a service-account token is a stand-in: there
  is no API server here), a `persistentVolumeClaim` is a directory shared by every pod that claims it (a
  symlink at the mount path), an `emptyDir` a fresh directory;
- its process: `command` + `args` (without `command`, `args` alone: the image's ENTRYPOINT is
  not run), in `workingDir` (else the image's WORKDIR).

The pod's filesystem is the directory `root`; `substitute` is the one place where what the
render says is changed to run here, and its docstring lists every change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_WORKDIR = "/opt/airflow"  # apache/airflow image's WORKDIR, where a container without workingDir starts
IMAGE_HOME = "/home/airflow"  # apache/airflow image's HOME (user airflow, uid 50000)
KUBE_ROOT_CA = "kube-root-ca.crt"
"""The ConfigMap Kubernetes publishes in every namespace (kube-controller-manager's root CA
publisher): a projected service-account volume reads its `ca.crt`. Not an object of the render."""
EMULATED_CA = "-----BEGIN CERTIFICATE-----\nemulated cluster CA\n-----END CERTIFICATE-----\n"
EMULATED_TOKEN = "emulated.service-account.token"
"""What the kubelet writes to a projected `serviceAccountToken` (a JWT the API server issues): no
API server here, so a stand-in; nothing in the run calls the Kubernetes API with it."""
VAR_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class PodError(RuntimeError):
    """The pod names something the cluster does not hold (a Secret, a key, a volume)."""


@dataclass(frozen=True)
class Cluster:
    """What a pod may reference: the namespace's Secrets and ConfigMaps, and the claims' directories."""

    namespace: str
    secrets: Mapping[str, Mapping[str, str]]
    config_maps: Mapping[str, Mapping[str, str]]
    claims: Mapping[str, Path]

    def as_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "secrets": self.secrets,
            "config_maps": self.config_maps,
            "claims": {k: str(v) for k, v in self.claims.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cluster:
        claims = {k: Path(v) for k, v in data["claims"].items()}
        return cls(data["namespace"], data["secrets"], data["config_maps"], claims)


@dataclass(frozen=True)
class Local:
    """Where the cluster's names are on this machine (the arguments of `substitute`)."""

    services: Mapping[str, int]
    """`<service>:<port>` of the render -> the local port (127.0.0.1) that stands in for it."""
    external_hosts: Sequence[str]
    """Other cluster DNS names the config names (the CloudWatch agent): 127.0.0.1 here."""
    python_bin: Path
    """The virtualenv holding the pinned Airflow: the image's /home/airflow/.local/bin and python."""
    aws_endpoint: str
    """The local S3-compatible server (moto)."""
    listen: Mapping[str, str] = field(default_factory=dict)
    """Environment a server needs to listen on 127.0.0.1 and its local port instead of all addresses."""


@dataclass
class Container:
    """A container resolved against the cluster, before `substitute`."""

    pod: str
    name: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str
    files: dict[str, tuple[str, bool]]
    """Mount path (a file, for subPath mounts, or a directory's files as `<mount>/<key>`) -> (text, read-only)."""
    directories: dict[str, tuple[str, bool]]
    """Mount path -> ("claim:<name>[/subPath]" | "empty", read-only)."""
    run_as_user: int | None


def _expand(value: str, env: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return VAR_REFERENCE.sub(one, value)


def _lookup(store: Mapping[str, Mapping[str, str]], kind: str, ref: Mapping[str, Any]) -> str | None:
    data = store.get(ref["name"])
    if data is None or ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise PodError(f"{kind} {ref['name']!r} has no key {ref['key']!r}")
    return data[ref["key"]]


def _field(path: str, pod: str, namespace: str, service_account: str) -> str:
    fields = {
        "metadata.name": pod,
        "metadata.namespace": namespace,
        "spec.serviceAccountName": service_account,
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
        "spec.nodeName": "localhost",
    }
    if path not in fields:
        raise PodError(f"fieldRef {path} is not emulated")
    return fields[path]


def resolve(pod: Mapping[str, Any], container_name: str, cluster: Cluster) -> Container:
    """`container_name` of `pod` (a Pod manifest, or a pod template's `{metadata, spec}`)."""
    spec, name = pod["spec"], pod["metadata"]["name"]
    every = [*(spec.get("initContainers") or []), *spec["containers"]]
    (c,) = [c for c in every if c["name"] == container_name]
    env = _environment(c, name, spec.get("serviceAccountName", "default"), cluster)
    # Without `command`, Kubernetes runs the image's ENTRYPOINT with `args`; that entrypoint
    # (dumb-init, /entrypoint) is the image's, not the render's: `args` run as the command itself.
    argv = [_expand(a, env) for a in [*(c.get("command") or []), *(c.get("args") or [])]]
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files: dict[str, tuple[str, bool]] = {}
    directories: dict[str, tuple[str, bool]] = {}
    for mount in c.get("volumeMounts") or []:
        volume = volumes.get(mount["name"])
        if volume is None:
            raise PodError(f"{name}/{container_name}: no volume {mount['name']!r}")
        _mount(mount, volume, cluster, files, directories, (name, spec.get("serviceAccountName", "default")))
    security = {**(spec.get("securityContext") or {}), **(c.get("securityContext") or {})}
    user = security.get("runAsUser")
    return Container(name, container_name, argv, env, c.get("workingDir") or IMAGE_WORKDIR, files, directories, user)


def _environment(c: Mapping[str, Any], pod: str, account: str, cluster: Cluster) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in c.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, store in (("secretRef", cluster.secrets), ("configMapRef", cluster.config_maps)):
            if kind in source:
                data = store.get(source[kind]["name"])
                if data is None and not source[kind].get("optional"):
                    raise PodError(f"envFrom {kind} {source[kind]['name']!r} does not exist")
                env.update({f"{prefix}{k}": v for k, v in (data or {}).items()})
    for var in c.get("env") or []:
        if "value" in var or "valueFrom" not in var:
            env[var["name"]] = _expand(str(var.get("value", "")), env)
            continue
        ref = var["valueFrom"]
        value: str | None
        if "secretKeyRef" in ref:
            value = _lookup(cluster.secrets, "Secret", ref["secretKeyRef"])
        elif "configMapKeyRef" in ref:
            value = _lookup(cluster.config_maps, "ConfigMap", ref["configMapKeyRef"])
        elif "fieldRef" in ref:
            value = _field(ref["fieldRef"]["fieldPath"], pod, cluster.namespace, account)
        else:
            raise PodError(f"env {var['name']}: {sorted(ref)} is not emulated")
        if value is not None:
            env[var["name"]] = value
    return env


def _mount(
    mount: Mapping[str, Any],
    volume: Mapping[str, Any],
    cluster: Cluster,
    files: dict[str, tuple[str, bool]],
    directories: dict[str, tuple[str, bool]],
    pod_and_account: tuple[str, str] = ("", "default"),
) -> None:
    path, read_only, sub = mount["mountPath"], bool(mount.get("readOnly")), mount.get("subPath")
    if "projected" in volume:
        if sub is not None:
            raise PodError(f"volume {mount['name']}: a subPath of a projected volume is not emulated")
        for source in volume["projected"].get("sources") or []:
            _project(source, path.rstrip("/"), cluster, files, pod_and_account)
        return
    if "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"]["claimName"]
        if claim not in cluster.claims:
            raise PodError(f"no claim {claim!r}")
        read_only = read_only or bool(volume["persistentVolumeClaim"].get("readOnly"))
        directories[path] = (f"claim:{claim}{'/' + sub if sub else ''}", read_only)
    elif "emptyDir" in volume:
        directories[path] = ("empty", read_only)
    elif "configMap" in volume or "secret" in volume:
        kind = "configMap" if "configMap" in volume else "secret"
        store = cluster.config_maps if kind == "configMap" else cluster.secrets
        source = volume[kind]
        source_name = source["name"] if kind == "configMap" else source["secretName"]
        data = store.get(source_name)
        if data is None:
            raise PodError(f"{kind} {source_name!r} does not exist")
        keys = {i["key"]: i["path"] for i in source.get("items") or []} or {k: k for k in data}
        if sub is not None:
            inverse = {p: k for k, p in keys.items()}
            if sub not in inverse:
                raise PodError(f"{kind} {source_name!r} has no {sub!r}")
            files[path] = (data[inverse[sub]], True)  # a configMap or Secret volume is always read-only
        else:
            for key, rel in keys.items():
                files[f"{path.rstrip('/')}/{rel}"] = (data[key], True)
    else:
        raise PodError(f"volume {mount['name']}: {sorted(volume)} is not emulated")


def _project(
    source: Mapping[str, Any],
    path: str,
    cluster: Cluster,
    files: dict[str, tuple[str, bool]],
    pod_and_account: tuple[str, str],
) -> None:
    """One source of a projected volume, as the kubelet writes it (always read-only)."""
    if "serviceAccountToken" in source:
        files[f"{path}/{source['serviceAccountToken']['path']}"] = (EMULATED_TOKEN, True)
    elif "configMap" in source or "secret" in source:
        kind = "configMap" if "configMap" in source else "secret"
        ref = source[kind]
        store = cluster.config_maps if kind == "configMap" else cluster.secrets
        data = store.get(ref["name"])
        if data is None and kind == "configMap" and ref["name"] == KUBE_ROOT_CA:
            data = {"ca.crt": EMULATED_CA}
        if data is None:
            raise PodError(f"{kind} {ref['name']!r} does not exist")
        for item in ref.get("items") or [{"key": k, "path": k} for k in data]:
            if item["key"] not in data:
                raise PodError(f"{kind} {ref['name']!r} has no {item['key']!r}")
            files[f"{path}/{item['path']}"] = (data[item["key"]], True)
    elif "downwardAPI" in source:
        pod, account = pod_and_account
        for item in source["downwardAPI"].get("items") or []:
            if "fieldRef" not in item:
                raise PodError(f"downwardAPI {item['path']}: only fieldRef is emulated")
            value = _field(item["fieldRef"]["fieldPath"], pod, cluster.namespace, account)
            files[f"{path}/{item['path']}"] = (value, True)
    else:
        raise PodError(f"projected source {sorted(source)} is not emulated")


def _local_path(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _path_pattern(prefixes: Sequence[str]) -> re.Pattern[str]:
    """One pass over a text: an occurrence of a prefix that starts a path (not inside a longer word)."""
    alternatives = "|".join(re.escape(p.rstrip("/")) for p in sorted(set(prefixes), key=len, reverse=True))
    return re.compile(rf"(?<![\w./-])({alternatives})(?=/|\s|$|[\"',;:)\]])")


def substitute(container: Container, root: Path, local: Local) -> Container:
    """The container as it runs here: the only changes made to what the render (and, for a task,
    the executor's pod construction) says. Every change:

    1. File paths: each mount path of the container, and the image's WORKDIR (/opt/airflow,
       also the chart's AIRFLOW_HOME) and HOME (/home/airflow), become the same path under
       `root`, the pod's own directory, in env values, argv and the mounted files' text (the
       rendered airflow.cfg names /opt/airflow/dags, /opt/airflow/logs, the pod template file).
       A mounted pod manifest (the pod template file) is left as rendered: it describes other
       pods, each localised by this function when the kubelet runs it.
    2. Cluster DNS: each `<service>[.<namespace>[.svc[.cluster.local]]]:<port>` of the render
       (PgBouncer, the API server, the triggerer's log server) becomes 127.0.0.1:<local port>;
       other cluster DNS names the config names (`local.external_hosts`: the CloudWatch agent's
       StatsD address) become 127.0.0.1.
    3. Environment the image or the node gives a container, added: PATH (the image's Python and
       its `airflow` are `local.python_bin`), HOME, TMPDIR (the pod's /tmp emptyDir), and for
       IRSA, which EKS injects at admission (not in the render): AWS_ENDPOINT_URL (the local
       S3/STS server) with dummy static credentials, so the rendered `aws_logs` connections
       (region, and the task pods' `role_arn`, assumed through STS) reach moto.
    4. Listening: `local.listen`, the environment that makes a server bind 127.0.0.1 and its
       local port (the pod's own IP and the render's port are not available here).
    5. `airflow triggerer` gets `--skip-serve-logs`: its log server binds every address, with no
       setting for the host (airflow 3.3.2 utils/serve_logs/core.py binds `[::]` or 0.0.0.0), and
       this run's servers listen on 127.0.0.1 only. Running triggers' logs are then not served
       from the triggerer; finished ones are read from S3.
    """
    prefixes = [*container.files, *container.directories, IMAGE_WORKDIR, IMAGE_HOME]
    paths = _path_pattern(prefixes)
    hosts = _hosts(local)
    host_pattern = re.compile(
        r"(?<![\w.-])(" + "|".join(re.escape(h) for h in sorted(hosts, key=len, reverse=True)) + r")(?![\w.-])"
    )

    def text(value: str) -> str:
        value = host_pattern.sub(lambda m: hosts[m.group(1)], value)
        return paths.sub(lambda m: str(_local_path(root, m.group(1))), value)

    env = {k: text(v) for k, v in container.env.items()}
    env.update(
        {
            "PATH": f"{local.python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(_local_path(root, IMAGE_HOME)),
            "TMPDIR": str(_local_path(root, "/tmp")),
            "AWS_ENDPOINT_URL": local.aws_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    env.update(local.listen)
    files = {p: (t if _is_pod_manifest(t) else text(t), ro) for p, (t, ro) in container.files.items()}
    argv = [text(a) for a in container.argv]
    argv = [re.sub(r"\bairflow triggerer$", "airflow triggerer --skip-serve-logs", a) for a in argv]
    return Container(
        container.pod,
        container.name,
        argv,
        env,
        str(_local_path(root, container.working_dir)),
        files,
        dict(container.directories),
        container.run_as_user,
    )


def _hosts(local: Local) -> dict[str, str]:
    """Each way a pod may name a Service's port (cluster DNS) -> its local stand-in."""
    hosts: dict[str, str] = {}
    for service, port in local.services.items():
        name, service_port = service.rsplit(":", 1)
        base, _, namespace = name.partition(".")
        for form in (base, f"{base}.{namespace}", f"{base}.{namespace}.svc", f"{base}.{namespace}.svc.cluster.local"):
            hosts[f"{form}:{service_port}"] = f"127.0.0.1:{port}"
    for host in local.external_hosts:
        hosts[host] = "127.0.0.1"
    return hosts


def _is_pod_manifest(text: str) -> bool:
    return re.search(r"^kind: Pod\s*$", text, re.MULTILINE) is not None and "apiVersion: v1" in text


def _make_unwritable(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def materialise(container: Container, root: Path, cluster: Cluster) -> Path:
    """The filesystem of a container `substitute` localised, under `root` (the pod's directory,
    shared by its containers); returns its working directory."""
    for directory in (IMAGE_HOME, "/tmp", IMAGE_WORKDIR):
        _local_path(root, directory).mkdir(parents=True, exist_ok=True)
    for mount, (source, _read_only) in sorted(container.directories.items()):
        target = _local_path(root, mount)
        if source == "empty":
            target.mkdir(parents=True, exist_ok=True)
            continue
        claim, _, sub = source.removeprefix("claim:").partition("/")
        shared = cluster.claims[claim] / sub if sub else cluster.claims[claim]
        shared.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            if target.is_symlink() and target.resolve() == shared.resolve():
                continue
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
        target.symlink_to(shared, target_is_directory=True)  # read-only claims: not enforced (see report)
    for mount, (content, read_only) in sorted(container.files.items()):
        target = _local_path(root, mount)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.chmod(0o644)
        target.write_text(content)
        if read_only:
            _make_unwritable(target)
    work = Path(container.working_dir)  # already under `root` (substitute)
    work.mkdir(parents=True, exist_ok=True)
    return work


def dump(container: Container, path: Path) -> None:
    """What the process gets (for the run's logs), secrets included: the run directory is private."""
    path.write_text(json.dumps({"argv": container.argv, "env": container.env, "cwd": container.working_dir}, indent=1))


def environment(container: Container) -> dict[str, str]:
    """Exactly the container's environment: nothing inherited from this process."""
    return dict(container.env)


def run_as(container: Container) -> list[str]:
    """`setpriv` to the pod's runAsUser when this run is root (CI), so read-only mounts hold."""
    if os.geteuid() != 0 or container.run_as_user is None:
        return []
    return ["setpriv", f"--reuid={container.run_as_user}", "--regid=0", "--clear-groups", "--"]
