#!/usr/bin/env python3
"""Checks the deployment manifests parse and agree with deploy/README.md (no container engine needed).

Run from anywhere: python3 deploy/check.py. Exits non-zero naming each mismatch.
"""
import pathlib
import re
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
README = (DEPLOY / "README.md").read_text()
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()
problems = []

compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
k8s = list(yaml.safe_load_all((DEPLOY / "k8s" / "carelog.yaml").read_text()))
yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())

# Every binary a manifest runs is built into the image.
commands = [s.get("command", [None])[0] for s in compose["services"].values() if "command" in s]
for doc in k8s:
    if doc["kind"] == "Deployment":
        commands += [c["command"][0] for c in doc["spec"]["template"]["spec"]["containers"]]
for binary in sorted({c for c in commands if c and c.startswith("carelog")}):
    if f"target/release/{binary} " not in DOCKERFILE and f"target/release/{binary}\n" not in DOCKERFILE:
        problems.append(f"{binary} runs in a manifest but deploy/Dockerfile does not copy it")

# Every Carelog setting a manifest uses is documented.
settings = set()
for service in compose["services"].values():
    settings |= {k for k in (service.get("environment") or {}) if k.startswith("CARELOG_")}
for doc in k8s:
    if doc["kind"] == "Deployment":
        for container in doc["spec"]["template"]["spec"]["containers"]:
            settings |= {e["name"] for e in container.get("env", []) if e["name"].startswith("CARELOG_")}
    if doc["kind"] == "ConfigMap":
        settings |= {k for k in doc["data"] if k.startswith("CARELOG_")}
for setting in sorted(settings):
    if setting not in README:
        problems.append(f"{setting} is set in a manifest but not documented in deploy/README.md")

# The read side runs a standby projector everywhere the README says so.
records_in_compose = [n for n, s in compose["services"].items() if s.get("command") == ["carelog-records"]]
if len(records_in_compose) < 2:
    problems.append(f"compose runs {len(records_in_compose)} records service(s); the README promises 2+")
for doc in k8s:
    name = doc["metadata"]["name"]
    if doc["kind"] != "Deployment":
        continue
    replicas = doc["spec"].get("replicas", 1)
    if name == "carelog-records" and replicas < 2:
        problems.append(f"k8s {name} has {replicas} replica(s); leader election needs a standby")
    for container in doc["spec"]["template"]["spec"]["containers"]:
        if container["command"] == ["carelog", "console"]:
            # The console serves HTTP: probed on its sign-in page, which reads nothing.
            if container.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/signin":
                problems.append(f"k8s {name}: the console's readiness probe is an httpGet of /signin")
            continue
        probe = container.get("readinessProbe", {}).get("grpc", {}).get("service", "")
        if probe == "carelog.projector":
            problems.append(f"k8s {name} is ready only on the leader: probe carelog.v1.RecordsService instead")
        if not re.fullmatch(r"carelog\.v1\.\w+Service", probe):
            problems.append(f"k8s {name} readiness probe names {probe!r}, not a Carelog service")

# The console reads services that exist: every URL it is given names one of the manifest's own.
def hosts(urls):
    return {re.sub(r"^https?://", "", u).split(":")[0] for u in urls}


console = [s for s in compose["services"].values() if s.get("command") == ["carelog", "console"]]
if len(console) != 1:
    problems.append(f"compose runs {len(console)} consoles (`carelog console`); the README promises one")
for service in console:
    urls = [v for k, v in service["environment"].items() if k.startswith("CARELOG_CONSOLE_") and k.endswith("_URL")]
    for host in sorted(hosts(urls) - set(compose["services"])):
        problems.append(f"compose console reads {host}, which compose does not run")
k8s_services = {f'{d["metadata"]["name"]}.{d["metadata"]["namespace"]}.svc' for d in k8s if d["kind"] == "Service"}
for doc in k8s:
    if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "carelog-console":
        urls = [v for k, v in doc["data"].items() if k.endswith("_URL")]
        for host in sorted(hosts(urls) - k8s_services):
            problems.append(f"k8s console reads {host}, which is not a Service in k8s/carelog.yaml")
if not any(d["kind"] == "ConfigMap" and d["metadata"]["name"] == "carelog-console" for d in k8s):
    problems.append("k8s: no carelog-console ConfigMap (the console's server addresses)")

if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"deploy: manifests parse; {len(settings)} settings documented; {len(records_in_compose)} records services in compose")
