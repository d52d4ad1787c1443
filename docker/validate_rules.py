"""Repository rules for the Docker files, run by docker/validate after the generic tools.

docker-compose config checks that the compose file is valid; hadolint that the Dockerfile
is. Neither knows what this repository promises about them, which is what is checked here:

compose (the normalized model that ``docker-compose config --format json`` printed):
  * every published port is bound to a loopback address (nothing here has authentication);
  * a ``depends_on`` with ``condition: service_healthy`` points at a service that has a
    health check (its own, or its image's HEALTHCHECK when it is built from a Dockerfile
    here); otherwise ``up`` waits forever;
  * build contexts, Dockerfiles and bind-mounted files exist (config does not look);
  * a Kafka broker service has automatic topic creation switched off;
  * no environment variable that names a key, secret, password or token has a literal
    value (use a ``*_FILE`` variable and a compose secret).
Dockerfile:
  * it ends as a non-root USER, has a HEALTHCHECK and a CMD or ENTRYPOINT.
prometheus.yml:
  * it parses, every scrape job has a name and targets, and some job scrapes a compose
    service's ``/metrics``.

Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
SECRET_NAME = re.compile(r"(KEY|SECRET|PASSWORD|PASSWD|TOKEN)(_|$)", re.IGNORECASE)


def _instructions(dockerfile: Path) -> list[tuple[int, str, str]]:
    """(line, INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    result: list[tuple[int, str, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(dockerfile.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        word, _, rest = text.partition(" ")
        result.append((start, word.upper(), rest.strip()))
    return result


def check_dockerfile(dockerfile: Path) -> list[str]:
    problems = []
    instructions = _instructions(dockerfile)
    users = [(n, args) for n, word, args in instructions if word == "USER"]
    if not users:
        problems.append(f"{dockerfile}: no USER: the container would run as root")
    else:
        line, user = users[-1]
        if user.split(":")[0] in {"root", "0"}:
            problems.append(f"{dockerfile}:{line}: the last USER is root")
    health = [args for _, word, args in instructions if word == "HEALTHCHECK"]
    if not health or health[-1].upper().startswith("NONE"):
        problems.append(f"{dockerfile}: no HEALTHCHECK")
    if not any(word in {"CMD", "ENTRYPOINT"} for _, word, _ in instructions):
        problems.append(f"{dockerfile}: no CMD or ENTRYPOINT")
    return problems


def _image_has_healthcheck(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if not build:
        return False
    dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
    return dockerfile.is_file() and any(
        word == "HEALTHCHECK" and not args.upper().startswith("NONE")
        for _, word, args in _instructions(dockerfile)
    )


def check_compose(model: dict[str, Any], compose_file: Path) -> list[str]:
    problems = []
    services: dict[str, dict[str, Any]] = model.get("services", {})
    for name, service in services.items():
        where = f"{compose_file}: services.{name}"
        for port in service.get("ports", []):
            if port.get("published") and port.get("host_ip") not in LOOPBACK:
                problems.append(
                    f"{where}.ports: {port.get('published')}->{port.get('target')} is published "
                    f"on {port.get('host_ip') or 'every address'}; bind it to 127.0.0.1"
                )
        for dep, spec in (service.get("depends_on") or {}).items():
            if spec.get("condition") != "service_healthy":
                continue
            target = services.get(dep, {})
            has_check = target.get("healthcheck") and not target["healthcheck"].get("disable")
            if not has_check and not _image_has_healthcheck(target):
                problems.append(
                    f"{where}.depends_on.{dep}: waits for service_healthy, but {dep} has no "
                    "health check"
                )
        build = service.get("build")
        if build:
            context = Path(build["context"])
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            if not context.is_dir():
                problems.append(f"{where}.build.context: {context} is not a directory")
            elif not dockerfile.is_file():
                problems.append(f"{where}.build.dockerfile: {dockerfile} does not exist")
        for volume in service.get("volumes", []):
            if volume.get("type") == "bind" and not Path(volume["source"]).exists():
                problems.append(f"{where}.volumes: bind source {volume['source']} does not exist")
        env = service.get("environment") or {}
        if "KAFKA_PROCESS_ROLES" in env and str(env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE")) != (
            "false"
        ):
            problems.append(f'{where}.environment: KAFKA_AUTO_CREATE_TOPICS_ENABLE must be "false"')
        for key, value in env.items():
            if SECRET_NAME.search(key) and not key.upper().endswith("_FILE") and value:
                problems.append(
                    f"{where}.environment.{key}: a literal secret; use a compose secret and "
                    f"{key}_FILE"
                )
    return problems


def _scrape_targets(job: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(host, port) pairs a scrape job names, from static and DNS service discovery."""
    targets: list[tuple[str, int | None]] = []
    for static in job.get("static_configs") or []:
        for target in static.get("targets") or []:
            host, _, port = str(target).rpartition(":")
            targets.append((host, int(port) if port.isdigit() else None))
    for dns in job.get("dns_sd_configs") or []:
        for name in dns.get("names") or []:
            targets.append((str(name), dns.get("port")))
    return targets


def check_prometheus(path: Path, model: dict[str, Any]) -> list[str]:
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        return [f"{path}: not valid YAML: {exc}"]
    if not isinstance(config, dict) or not isinstance(config.get("scrape_configs"), list):
        return [f"{path}: no scrape_configs list"]
    problems = []
    services = set(model.get("services", {}))
    scrapes_a_service = False
    for i, job in enumerate(config["scrape_configs"]):
        if not isinstance(job, dict) or not job.get("job_name"):
            problems.append(f"{path}: scrape_configs[{i}] has no job_name")
            continue
        targets = _scrape_targets(job)
        if not targets:
            problems.append(f"{path}: job {job['job_name']} has no targets")
        if job.get("metrics_path", "/metrics") == "/metrics" and any(
            host in services and port for host, port in targets
        ):
            scrapes_a_service = True
    if not scrapes_a_service:
        problems.append(f"{path}: no job scrapes /metrics of a compose service")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compose-json", type=Path, required=True)
    parser.add_argument("--compose-file", type=Path, required=True)
    parser.add_argument("--dockerfile", type=Path, required=True)
    parser.add_argument("--prometheus", type=Path, required=True)
    args = parser.parse_args()
    model = json.loads(args.compose_json.read_text(encoding="utf-8"))
    problems = (
        check_compose(model, args.compose_file)
        + check_dockerfile(args.dockerfile)
        + check_prometheus(args.prometheus, model)
    )
    for problem in problems:
        sys.stdout.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
