"""The ``logscrub`` command line: scrub files and pipes, check configs, reveal tokens, and more.

Exit codes: 0 success, 1 a check or test failed, 2 invalid configuration or usage
(missing key included), 3 unreadable input or unwritable output.

Security: no command prints a record value to a log or an error message. ``scrub`` writes
only anonymized records; ``explain`` shows before/after to the terminal it runs in only.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NoReturn

import click

from pipeline.exceptions import ConfigError, KeyMissingError, LogscrubError, WebPortError

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_IO = 3

log = logging.getLogger("logscrub")


def _die(message: str, code: int) -> NoReturn:
    click.echo(f"logscrub: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _errors() -> Iterator[None]:
    """Turn logscrub's own errors into clear messages and exit codes (no tracebacks)."""
    try:
        yield
    except ConfigError as exc:
        _die(str(exc), EXIT_CONFIG)
    except (KeyMissingError, WebPortError) as exc:
        _die(str(exc), EXIT_CONFIG)
    except LogscrubError as exc:
        _die(str(exc), EXIT_FAILED)


def _open_in(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 — closed by the caller's ExitStack
    except OSError as exc:
        _die(f"cannot read input {path}: {exc.strerror}", EXIT_IO)


def _open_out(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdout.buffer
    try:
        return open(path, "wb")  # noqa: SIM115
    except OSError as exc:
        _die(f"cannot write output {path}: {exc.strerror}", EXIT_IO)


key_file_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File holding the secret key (default: $LOGSCRUB_KEY_FILE, then $LOGSCRUB_KEY).",
)
key_id_option = click.option(
    "--key-id", default=None, help="Key id put in tokens (default: $LOGSCRUB_KEY_ID or k1)."
)
policy_option = click.option(
    "--policy",
    "-p",
    type=click.Path(dir_okay=False),
    default=None,
    help="Policy YAML (default: the shipped configs/policies/default.yaml).",
)
ner_option = click.option(
    "--ner/--no-ner",
    default=None,
    help="Force name detection (NER) on or off; default: as the policy says.",
)


class _Logscrub(click.Group):
    """The command group; logscrub's own errors that reach it end as one line, not a traceback.

    Commands turn their errors into exit codes with :func:`_errors`; this catches what a
    long-running command raises after its start-up (the exactly-once worker binding its
    web port).
    """

    def invoke(self, ctx: click.Context) -> object:
        with _errors():
            return super().invoke(ctx)

    # The stream commands (pipeline/cli_stream.py) are attached on first need: a command
    # name this module does not define, or the command list (`--help`). `logscrub scrub`
    # then does not import that module (~8 ms of its start-up).
    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and _add_stream_commands():
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        _add_stream_commands()
        return super().list_commands(ctx)


@click.group(cls=_Logscrub, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging on stderr (never values).")
@click.version_option(package_name="logscrub")
def main(verbose: int) -> None:
    """logscrub: keep personal data out of log pipelines."""
    logging.basicConfig(
        level=logging.WARNING - 10 * min(verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def build_engine(
    policy: str | None, key_file: str | None, key_id: str | None, ner: bool | None
):  # type: ignore[no-untyped-def]  # returns pipeline.engine.Engine; imported lazily
    """Load policy and key and build the engine (shared by scrub, explain, eval, worker)."""
    from pipeline.engine import Engine
    from pipeline.keys import KeyRing
    from pipeline.policy import load_policy

    pol = load_policy(policy)
    keys = KeyRing.load(key_file, key_id)
    return Engine(pol, keys=keys, ner=ner)


@main.command()
@policy_option
@click.option("--input", "-i", "input_", default="-", show_default=True, help="Input file or -.")
@click.option("--output", "-o", default="-", show_default=True, help="Output file or -.")
@key_file_option
@key_id_option
@ner_option
@click.option("--quiet", "-q", is_flag=True, help="No summary on stderr.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=0,
    help="Worker processes; 0 (default) = one per core for an input file, one process "
    "for stdin (a pipe may be a live stream: lines go out as they come). "
    "Output order and counts do not depend on it.",
)
def scrub(
    policy: str | None,
    input_: str,
    output: str,
    key_file: str | None,
    key_id: str | None,
    ner: bool | None,
    quiet: bool,
    jobs: int,
) -> None:
    """Anonymize newline-delimited logs (JSON objects or plain text), one line out per line in.

    Lines dropped on purpose by the policy are left out and counted. Malformed lines
    (bad JSON or UTF-8, too deep, too large) come out scrubbed as text or as a marked
    placeholder, and are counted as bad lines.
    """
    from pipeline.gc_tuning import no_collections_while_loading

    with no_collections_while_loading():
        from pipeline._lines import read_lines
        from pipeline.parallel import clean_lines, default_jobs
        from pipeline.stats import RunStats

        with _errors():
            engine = build_engine(policy, key_file, key_id, ner)
    stats = RunStats()
    max_bytes = engine.policy.model.limits.max_bytes
    with contextlib.ExitStack() as stack:
        src = _open_in(input_)
        dst = _open_out(output)
        if src is not sys.stdin.buffer:
            stack.enter_context(src)
        if dst is not sys.stdout.buffer:
            stack.enter_context(dst)
        lines = read_lines(src, max_bytes)
        if output != "-" and sys.stderr.isatty() and not quiet:
            from tqdm import tqdm

            lines = tqdm(lines, unit=" lines", file=sys.stderr)  # type: ignore[assignment]
        try:
            if not jobs:
                jobs = 1 if input_ == "-" else default_jobs()
            for outcome in clean_lines(engine, lines, jobs):
                stats.add(outcome)
                if outcome.value is not None:
                    dst.write(outcome.value)
                    dst.write(b"\n")
            dst.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly like other Unix filters.
            sys.stderr.close()
            sys.exit(0)
        except OSError as exc:
            _die(f"I/O error: {exc.strerror}", EXIT_IO)
    if not quiet:
        click.echo(stats.summary(), err=True)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--schema", is_flag=True, help="Print the policy JSON Schema (for editors) and exit.")
def check(paths: tuple[str, ...], schema: bool) -> None:
    """Validate policies and configs (default: the shipped configs). No broker needed.

    Every error in every file is reported in one run, with file, line and path.
    """
    import json

    from pipeline.configcheck import check_paths
    from pipeline.policy import PolicyModel
    from pipeline.shipped import shipped_configs

    if schema:
        click.echo(json.dumps(PolicyModel.model_json_schema(), indent=2))
        return
    checked, issues = check_paths(list(paths) or [shipped_configs()])
    for issue in issues:
        click.echo(str(issue), err=True)
    if issues:
        _die(f"{len(issues)} error(s) in {checked} file(s)", EXIT_CONFIG)
    click.echo(f"ok: {checked} file(s) valid")


reason_option = click.option(
    "--reason",
    required=True,
    help="Why (the case or ticket): written to the audit log before anything is revealed.",
)
audit_log_option = click.option(
    "--audit-log",
    type=click.Path(dir_okay=False),
    default=None,
    help="Audit log (default: $LOGSCRUB_AUDIT_LOG, else ~/.local/state/logscrub/audit.log).",
)


@main.command()
@click.argument("token", nargs=-1, required=True)
@key_file_option
@key_id_option
@reason_option
@audit_log_option
def reveal(
    token: tuple[str, ...],
    key_file: str | None,
    key_id: str | None,
    reason: str,
    audit_log: str | None,
) -> None:
    """Decrypt tokens made by the `encrypt` operator (needs the key ring they were made with).

    Re-identification is an investigation step: run it where the key lives, never in the
    analytics environment. Each call appends one record to the audit log (who, when, why,
    keyed digests of the tokens; never a value) before it prints anything.
    """
    from pipeline import audit
    from pipeline.keys import KeyRing
    from pipeline.operators.encrypt import reveal as do_reveal
    from pipeline.tokens import parse_encrypted

    with _errors():
        keys = KeyRing.load(key_file, key_id)
        revealed = [do_reveal(t, keys) for t in token]  # all or nothing: errors come first
        assert keys is not None  # noqa: S101 — do_reveal raised otherwise
        audit.append(
            Path(audit_log) if audit_log else audit.default_path(),
            command="reveal",
            key_ids=[p.key_id for t in token if (p := parse_encrypted(t)) is not None],
            items=[audit.digest(keys, t) for t in token],
            reason=reason,
        )
    for entity, value in revealed:
        click.echo(f"{entity}\t{value}")


@main.group()
def audit() -> None:
    """The re-identification audit log."""


@audit.command("verify")
@audit_log_option
def audit_verify(audit_log: str | None) -> None:
    """Check the audit log's hash chain: exit 1 at the first edited, removed or reordered
    record. Prints the head hash: keep it elsewhere to detect a cut-off tail later."""
    from pipeline import audit as audit_mod

    path = Path(audit_log) if audit_log else audit_mod.default_path()
    with _errors():
        verified = audit_mod.verify_log(path)
    click.echo(f"ok: {path}: {verified.records} record(s); head {verified.head}")


@main.group()
def keys() -> None:
    """Make and list keys: a key ring file holds several by id, one active (rotation)."""


@keys.command("generate")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    required=True,
    help="The ring file to add a key to (created, or converted from a one-secret file).",
)
@click.option("--id", "key_id", default=None, help="Id of the new key (default: the next kN).")
def keys_generate(key_file: str, key_id: str | None) -> None:
    """Add a new random key to a ring file and make it the active one (mode 0600).

    Older keys stay in the ring: tokens made under them still reveal and decrypt. New
    pseudonyms differ from the old ones from the moment workers load the ring.
    """
    from pipeline.keys import add_to_ring

    with _errors():
        new_id, ids = add_to_ring(Path(key_file), key_id)
    click.echo(f"{key_file}: added key {new_id} (active); keys: {', '.join(ids)}")


@keys.command("list")
@key_file_option
@key_id_option
def keys_list(key_file: str | None, key_id: str | None) -> None:
    """List the key ids of the configured key or ring (never a secret); the active one first."""
    from pipeline.keys import KeyRing

    with _errors():
        ring = KeyRing.load(key_file, key_id)
    if ring is None:
        _die("no key configured (--key-file, $LOGSCRUB_KEY_FILE or $LOGSCRUB_KEY)", EXIT_CONFIG)
    for n, kid in enumerate(ring.ids):
        click.echo(f"{kid}\t{'active' if n == 0 else 'older: reveal and decrypt only'}")


@main.command()
@click.argument("line", required=False)
@policy_option
@click.option("--input", "-i", "input_", default=None, help="Explain every line of this file.")
@key_file_option
@key_id_option
@ner_option
@click.option("--limit", "-n", default=20, show_default=True, help="Lines to explain from a file.")
def explain(
    line: str | None,
    policy: str | None,
    input_: str | None,
    key_file: str | None,
    key_id: str | None,
    ner: bool | None,
    limit: int,
) -> None:
    """Show why values were (or were not) changed: each finding with entity type, detector,
    score, field path and operator, and the record before and after.

    Security: the output holds original values, so it is written to an interactive
    terminal only; `explain` refuses to write into a pipe or a file.
    """
    from pipeline._lines import Oversize, read_lines

    if not sys.stdout.isatty():
        _die(
            "explain shows original values and writes to a terminal only "
            "(stdout is a pipe or a file); run it in an interactive terminal",
            EXIT_CONFIG,
        )
    if (line is None) == (input_ is None):
        _die("give one LINE argument or --input FILE", EXIT_CONFIG)
    with _errors():
        engine = build_engine(policy, key_file, key_id, ner)
    if line is not None:
        raws: list[bytes] = [line.encode("utf-8", "surrogateescape")]
    else:
        with _open_in(input_ or "-") as src:
            raws = [r for r in read_lines(src, engine.policy.model.limits.max_bytes) if not isinstance(r, Oversize)][:limit]
    for n, raw in enumerate(raws, 1):
        outcome, trace = engine.explain(raw)
        click.secho(f"── record {n}" + (f"  [{outcome.issue}]" if outcome.issue else ""), bold=True)
        click.echo("before: " + raw.decode("utf-8", "replace"))
        after = "(dropped by policy)" if outcome.value is None else outcome.value.decode("utf-8")
        click.echo("after:  " + after)
        if not trace:
            click.echo("  no findings")
        for t in trace:
            click.echo(
                f"  {t.path:<28} {t.entity:<16} {t.detector:<28} score={t.score:.2f} "
                f"{t.operator:<12} {t.before!r} -> {t.after!r}"
            )


@main.group("eval")
def eval_() -> None:
    """Measure detection quality: leaks and damage on labelled logs, span precision/recall."""


# Gold types of span corpora that are not personal data in the sense of this tool (or are
# other countries' ids it does not target); left out of span scores rather than hidden.
NOT_TARGETED = ("ORGANIZATION", "DATE_TIME", "TITLE", "PREFIX", "DOMAIN_NAME", "NRP")


@eval_.command("logs")
@policy_option
@click.option("--labelled", type=click.Path(dir_okay=False), default=None, help="Labelled JSONL (from `logscrub corpus`).")
@click.option("--generated", "-n", default=5000, show_default=True, help="Else: generate this many labelled lines.")
@click.option("--seed", default=1, show_default=True)
@click.option("--density", default=0.3, show_default=True, help="Fraction of generated records holding PII.")
@key_file_option
@key_id_option
@ner_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_logs(
    policy: str | None,
    labelled: str | None,
    generated: int,
    seed: int,
    density: float,
    key_file: str | None,
    key_id: str | None,
    ner: bool | None,
    as_json: bool,
) -> None:
    """Leak rate (PII surviving verbatim) and damage rate (analytics values altered)."""
    import json

    from pipeline.corpus import generate_labelled, read_jsonl
    from pipeline.evaluation import leak_damage

    with _errors():
        engine = build_engine(policy, key_file, key_id, ner)
    items = read_jsonl(labelled) if labelled else generate_labelled(generated, seed=seed, density=density)
    report = leak_damage(items, engine.scrub_line)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.to_table())


@eval_.command("spans")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--limit", default=0, help="Only the first N examples (0 = all).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "presidio", "conll"]),
    default="auto",
    show_default=True,
    help="presidio: Presidio-research JSON; conll: one token and its BIO tag per line "
    "(Weibo NER: PER.NAM scored as PERSON). auto: by the file name (.json -> presidio).",
)
@ner_option
@click.option("--json", "as_json", is_flag=True)
def eval_spans(path: str, limit: int, fmt: str, ner: bool | None, as_json: bool) -> None:
    """Span-level precision, recall and F2 per entity on Presidio-research JSON or CoNLL/BIO.

    For CoNLL data the collateral damage is reported too: the share of the other Han
    characters (or, for non-Chinese text, other characters) that a finding covered.
    """
    import json

    from pipeline.evaluation import (
        IGNORE,
        load_conll,
        load_presidio_research,
        outside_changed,
        span_scores,
    )
    from pipeline.scanner import Scanner

    if fmt == "auto":
        fmt = "presidio" if path.lower().endswith(".json") else "conll"
    examples = load_presidio_research(path) if fmt == "presidio" else load_conll(path)
    if limit:
        examples = examples[:limit]
    nerd = None
    if ner is not False:
        from pipeline.ner import NerDetector

        nerd = NerDetector()
    scanner = Scanner(ner=nerd)
    cache: dict[str, list[tuple[int, int, str]]] = {}

    def detect(text: str) -> list[tuple[int, int, str]]:
        found = cache.get(text)
        if found is None:
            # Free text (ner=True), as the engine scans free-text fields: the name and
            # address passes always run, spaCy only when installed and not --no-ner.
            found = [(f.start, f.end, f.entity) for f in scanner.scan(text, None, ner=True)]
            cache[text] = found
        return found

    if fmt == "presidio":
        entity_map = {t: IGNORE for t in NOT_TARGETED}
    else:
        # Named persons only: nominal mentions (PER.NOM: 老师, 朋友) are not personal data.
        gold_types = {s.entity for ex in examples for s in ex.spans}
        entity_map = {t: IGNORE for t in gold_types}
        entity_map.update({t: "PERSON" for t in gold_types if t in _CONLL_PERSON})
    scores = span_scores(examples, detect, entity_map)
    collateral = None
    if fmt == "conll":
        person = [t for t in gold_types if t in _CONLL_PERSON]
        han = any("\u4e00" <= ch <= "\u9fff" for ex in examples[:50] for ch in ex.text)
        changed, total = outside_changed(examples, detect, person[0] if person else "", han_only=han)
        collateral = {"changed": changed, "total": total, "rate": changed / total if total else 0.0,
                      "characters": "han" if han else "all"}
    if as_json:
        out: dict[str, object] = dict(scores)
        if collateral is not None:
            out["outside_changed"] = collateral
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"{'entity':<20}{'gold':>6}{'pred':>6}{'precision':>11}{'recall':>8}{'F2':>7}")
    for entity, row in sorted(scores.items(), key=lambda kv: (kv[0] in ("micro", "any_type"), kv[0])):
        gold = int(row["tp"] + row["fn"])
        pred = int(row["pred_tp"] + row["fp"]) if "pred_tp" in row else int(row["tp"] + row["fp"])
        click.echo(f"{entity:<20}{gold:>6}{pred:>6}{row['precision']:>11.3f}{row['recall']:>8.3f}{row['f2']:>7.3f}")
    if collateral is not None:
        click.echo(
            f"other {collateral['characters']} characters changed: "
            f"{collateral['changed']}/{collateral['total']} ({collateral['rate']:.2%})"
        )


# Gold person-name types of CoNLL corpora (Weibo NER: PER.NAM; CoNLL-2003 and most
# others: PER).
_CONLL_PERSON = frozenset({"PER.NAM", "PER", "PERSON"})


@main.command()
@click.option("--output", "-o", default="-", help="Labelled JSONL output (default stdout).")
@click.option("-n", "count", default=10000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--density", default=0.3, show_default=True)
@click.option("--lines-only", is_flag=True, help="Only the raw lines (benchmark input), no labels.")
def corpus(output: str, count: int, seed: int, density: float, lines_only: bool) -> None:
    """Generate the deterministic synthetic labelled log corpus (see pipeline/corpus.py)."""
    from pipeline.corpus import generate_labelled, generate_lines, write_jsonl

    if lines_only:
        dst = _open_out(output)
        for line in generate_lines(count, seed=seed, density=density):
            dst.write(line.encode() + b"\n")
        dst.flush()
        return
    write_jsonl("/dev/stdout" if output == "-" else output, generate_labelled(count, seed=seed, density=density))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind (no other is accepted).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0: any free port).")
@key_file_option
@key_id_option
@ner_option
def playground(
    host: str, port: int, key_file: str | None, key_id: str | None, ner: bool | None
) -> None:
    """Serve a local page to try policies on log lines: every finding, detector, score,
    field rule and operator, the record before and after, and golden cases to download.

    It binds to a loopback address only and prints its address with a random token; other
    local users without the token are refused. Nothing is stored or logged. Without a
    configured key, pseudonyms use an ephemeral key (the page says so).
    """
    from pipeline.keys import KeyRing
    from pipeline.playground import Playground, check_loopback, serve

    with _errors():
        check_loopback(host)
        pg = Playground(KeyRing.load(key_file, key_id), ner=ner)

    def ready(url: str) -> None:
        click.echo(f"logscrub playground: open {url}", err=True)
        if pg.ephemeral:
            click.echo("  (no key configured: pseudonyms use an ephemeral key)", err=True)

    try:
        serve(pg, host, port, ready)
    except OSError as exc:
        _die(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_CONFIG)


@main.command("test-policies")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--policies-dir", default=None, help="Where policies live (default: the shipped policies)."
)
def test_policies(paths: tuple[str, ...], policies_dir: str | None) -> None:
    """Run golden cases (``<policy>.cases.yaml``) against their policies with a fixed test key.

    Default: the shipped case files against the shipped policies.

    Use it in a team's own CI: it exits 1 when any case's output differs.
    """
    from importlib.resources.abc import Traversable

    from pipeline.golden import default_case_files, run_case_file

    files: list[Traversable] = [Path(p) for p in paths] or default_case_files()
    failures = 0
    total = 0
    with _errors():
        for f in files:
            results = run_case_file(f, Path(policies_dir) if policies_dir else None)
            for r in results:
                total += 1
                if not r.ok:
                    failures += 1
                    click.echo(f"FAIL {f.name}::{r.case_id}\n  expected: {r.expected}\n  got:      {r.got}", err=True)
    click.echo(f"{total - failures} passed, {failures} failed")
    if failures:
        sys.exit(EXIT_FAILED)


_stream_commands_added = False


def _add_stream_commands() -> bool:
    """Attach the stream commands to ``main`` (once); True if they were not there yet.

    They live in their own module so that the file mode never imports Kafka clients (nor
    that module); they are attached here so there is one `logscrub` command.
    """
    global _stream_commands_added  # noqa: PLW0603 — once per process
    if _stream_commands_added:
        return False
    _stream_commands_added = True
    from pipeline.cli_stream import COMMANDS

    for command in COMMANDS:
        main.add_command(command)
    return True

if __name__ == "__main__":  # pragma: no cover
    main()
