"""Runtime settings of the stream worker: environment ``LOGSCRUB_*``, an optional YAML file.

Precedence, highest first: explicit overrides (command-line options), environment
variables, the YAML file given with ``--config``, the defaults below. Every problem is
reported at once as a :class:`~pipeline.exceptions.ConfigError` naming the setting, never
its value.

Security: the secret key is not a setting. It stays in ``LOGSCRUB_KEY`` (or the file
named by ``key_file`` / ``LOGSCRUB_KEY_FILE``) and is read only by
:meth:`pipeline.keys.KeyRing.load`, so it never appears in a ``Settings`` repr, a log
line or a YAML file; a ``key`` entry in the YAML file is rejected.
"""

from __future__ import annotations

import contextvars
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from pipeline.exceptions import ConfigError, ConfigIssue

ENV_PREFIX = "LOGSCRUB_"
Guarantee = Literal["at_least_once", "exactly_once"]
Runner = Literal["faust", "batch"]
_BROKER_RE = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")

# The YAML file of the current load_settings() call. A context variable rather than a
# class attribute, so two loads (tests, the demo and its worker) never see each other's.
_yaml_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "logscrub_settings_yaml", default=None
)
# False while `logscrub check` validates a settings file on its own: the environment of
# whoever runs the check must neither hide the file's errors nor add its own.
_with_env: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "logscrub_settings_env", default=True
)


class Settings(BaseSettings):
    """The worker's runtime configuration. Immutable once loaded.

    Guarantees: every value is validated at load time; nothing secret is held.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        case_sensitive=False,
    )

    brokers: str = Field(
        default="127.0.0.1:9092",
        description="Bootstrap servers, comma-separated host:port.",
    )
    group_id: str = Field(
        default="logscrub",
        pattern=r"^[A-Za-z0-9._\-]{1,200}$",
        description="Consumer group (and Faust app id); workers with the same id share partitions.",
    )
    client_id: str = Field(default="logscrub", pattern=r"^[A-Za-z0-9._\-]{1,200}$")
    routes: Path | None = Field(
        default=None, description="Routes file (default: the shipped configs/routes.yaml)."
    )
    web_host: str = Field(default="127.0.0.1", description="Address of /health and /metrics.")
    web_port: int = Field(default=6066, ge=0, le=65535, description="0 turns the web server off.")
    guarantee: Guarantee = Field(
        default="at_least_once",
        description="at_least_once, or exactly_once (Kafka transactions, batch runner only).",
    )
    runner: Runner | None = Field(
        default=None,
        description=(
            "faust (Faust agents) or batch (confluent-kafka batches); default: faust for "
            "at_least_once, batch for exactly_once (the only runner that has it)."
        ),
    )
    concurrency: int = Field(
        default=1, ge=1, le=64, description="Records of one route processed concurrently."
    )
    in_flight: int = Field(
        default=512,
        ge=1,
        le=100_000,
        description=(
            "at_least_once: outputs of one agent awaiting the broker's acknowledgement "
            "while it goes on (1: wait for each before the next record)."
        ),
    )
    ner: bool | None = Field(
        default=None, description="Force person-name detection on/off (default: the policy)."
    )
    key_file: Path | None = Field(default=None, description="File holding the secret key.")
    key_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]{1,16}$")

    # Transport tuning. The defaults suit a small cluster; tests shorten the timeouts.
    session_timeout_s: float = Field(
        default=10.0,
        ge=1.0,
        le=300.0,
        description="How long a dead worker keeps its partitions before the group moves them.",
    )
    commit_interval_s: float = Field(default=1.0, gt=0.0, le=60.0)
    max_request_bytes: int = Field(
        default=1_048_576,
        ge=65_536,
        le=100 * 1_048_576,
        description="Largest record the producer sends (topics need max.message.bytes too).",
    )
    request_timeout_s: float = Field(
        default=30.0,
        ge=1.0,
        le=600.0,
        description="A send not acknowledged within this time is retried (and counted).",
    )
    quarantine_payload_max_bytes: int = Field(
        default=300_000,
        ge=0,
        description=(
            "Raw payloads up to this size are kept, encrypted, in quarantine entries; "
            "larger ones are omitted (the source coordinates still allow a replay). An "
            "entry holds the payload in base64 (4/3) plus the scrubbed text (cut to the "
            "same budget): 300 kB keeps it under the broker's default 1 MB record limit."
        ),
    )
    record_time_budget_s: float = Field(
        default=5.0,
        ge=0.0,
        le=3600.0,
        description=(
            "Longest the engine works on one record; past it the record is quarantined "
            "(reason too_slow) instead of holding up its partition. 0: no budget."
        ),
    )
    drift_warmup_records: int = Field(
        default=1000,
        ge=0,
        description="Records of a route that set its baseline of field paths; paths first "
        "seen later are new (schema drift: logged, counted, listed by `logscrub drift`).",
    )
    drift_max_paths: int = Field(
        default=10_000, ge=1, description="Distinct field paths remembered per route."
    )
    reload: bool = Field(
        default=True,
        description=(
            "Reload routes and policies when their files change and on SIGHUP (a new "
            "config is validated first; an invalid one is refused and the running one stays)."
        ),
    )
    reload_interval_s: float = Field(
        default=2.0, ge=0.2, le=3600.0, description="How often the config files are checked."
    )
    batch_max_records: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="batch runner: records per batch (exactly_once: per transaction).",
    )
    batch_max_s: float = Field(
        default=0.1,
        gt=0.0,
        le=60.0,
        description=(
            "batch runner: engine time per batch; the records fetched beyond it go into the "
            "next batch (bounds how long a record waits for its batch)."
        ),
    )
    # 10 s as Kafka Streams sets it for exactly-once: the batch runner opens a transaction
    # only to send a cleaned batch (milliseconds), and a killed worker's open transaction
    # blocks read_committed readers of its partitions until the broker aborts it.
    transaction_timeout_s: float = Field(default=10.0, ge=1.0, le=900.0)
    instance_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._\-]{1,100}$",
        description=(
            "exactly_once: a stable name of this worker process (a pod name), part of its "
            "transactional id, so a restart aborts its predecessor's open transaction at "
            "once; unique among running workers. Default: random per start."
        ),
    )
    engine_process: bool = Field(
        # On by default: the one e2e failure seen with it was the reload watcher's stamp
        # race (fixed in pipeline/stream/reload.py), not the child; same-run ratios to
        # Faust's pass-through 0.72 with the child against 0.63 with the thread.
        default=True,
        description=(
            "faust runner: each route's engine runs in a child process (one per worker "
            "process), so Faust and the engine use two cores instead of sharing one GIL."
        ),
    )
    data_dir: Path | None = Field(
        default=None,
        description="Faust's data directory (default: a temporary directory, removed at exit).",
    )

    @model_validator(mode="after")
    def _check_runner(self) -> Settings:
        if self.runner == "faust" and self.guarantee == "exactly_once":
            msg = "runner faust has no exactly_once; use runner batch (the default for it)"
            raise ValueError(msg)
        return self

    @property
    def effective_runner(self) -> Runner:
        """The runner that runs: the configured one, else by guarantee."""
        if self.runner is not None:
            return self.runner
        return "batch" if self.guarantee == "exactly_once" else "faust"

    @field_validator("brokers")
    @classmethod
    def _check_brokers(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not parts or not all(_BROKER_RE.match(p) for p in parts):
            msg = "must be host:port[,host:port...]"
            raise ValueError(msg)
        return ",".join(parts)

    @property
    def broker_list(self) -> list[str]:
        """The bootstrap servers as a list."""
        return self.brokers.split(",")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Overrides, then environment, then the YAML file (no dotenv, no secrets dir)."""
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        if _with_env.get():
            sources.append(env_settings)
        path = _yaml_file.get()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings from overrides, the environment and an optional YAML file.

    Args:
        config: YAML file with settings (keys are the field names, e.g. ``brokers``).
        **overrides: values that win over everything else; None values are ignored, so
            unset command-line options can be passed through as they are.

    Returns:
        The validated, frozen settings.

    Raises:
        ConfigError: the file is unreadable or not a mapping, or any value is invalid
            (all problems at once; messages name settings, never values).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    where = "settings"
    path: Path | None = None
    if config is not None:
        path = Path(config)
        where = str(path)
        _check_yaml(path)
    token = _yaml_file.set(path)
    try:
        return Settings(**given)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown setting" + (
                    " (the secret key is only read from LOGSCRUB_KEY or a key file)"
                    if loc.lower() in {"key", "secret", "secret_key"}
                    else ""
                )
            issues.append(ConfigIssue(where, None, loc, msg))
        raise ConfigError(issues) from None
    finally:
        _yaml_file.reset(token)


def check_settings_file(path: str | Path) -> list[ConfigIssue]:
    """Every problem of a settings file on its own (no environment), with line numbers
    where the YAML says where a setting is; an empty list when it is valid."""
    path = Path(path)
    token = _with_env.set(False)
    try:
        load_settings(path)
    except ConfigError as exc:
        lines = _setting_lines(path)
        return [
            ConfigIssue(i.file, i.line or lines.get(i.path.split(".", 1)[0]), i.path, i.message)
            for i in exc.issues
        ]
    finally:
        _with_env.reset(token)
    return []


def _setting_lines(path: Path) -> dict[str, int]:
    """Top-level setting name -> its line in the file (best effort: {} when unreadable)."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        str(k.value).lower(): k.start_mark.line + 1
        for k, _ in node.value
        if isinstance(k, yaml.ScalarNode)
    }


def _check_yaml(path: Path) -> None:
    """Fail early, with a clear message, on a missing or malformed settings file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(path), None, "", f"cannot read ({exc.strerror})")]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([ConfigIssue(str(path), line, "", "YAML syntax error")]) from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError([ConfigIssue(str(path), None, "", "must be a mapping of settings")])
