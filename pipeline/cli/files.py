"""File-mode commands: ``scrub`` (files and pipes, ``--jobs N``), ``check``, ``explain``,
``test-policies``.

Security: ``scrub`` writes only anonymized records; ``explain`` shows before/after to the
terminal it runs in only; errors never hold a record value.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_IO,
    build_engine,
    die,
    errors,
    key_file_option,
    key_id_option,
    ner_option,
    open_in,
    open_out,
    policy_option,
)


@click.command()
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
    from pipeline.stream.gc_tuning import no_collections_while_loading

    with no_collections_while_loading():
        from pipeline.cli.parallel import clean_lines, default_jobs
        from pipeline.cli.stats import RunStats
        from pipeline.core.lines import read_lines

        with errors():
            engine = build_engine(policy, key_file, key_id, ner)
    stats = RunStats()
    max_bytes = engine.policy.model.limits.max_bytes
    with contextlib.ExitStack() as stack:
        src = open_in(input_)
        dst = open_out(output)
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
            die(f"I/O error: {exc.strerror}", EXIT_IO)
    if not quiet:
        click.echo(stats.summary(), err=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--schema", is_flag=True, help="Print the policy JSON Schema (for editors) and exit.")
def check(paths: tuple[str, ...], schema: bool) -> None:
    """Validate policies and configs (default: the shipped configs). No broker needed.

    Every error in every file is reported in one run, with file, line and path.
    """
    import json

    from pipeline.core.policy import PolicyModel
    from pipeline.shipped import shipped_configs
    from pipeline.tools.configcheck import check_paths

    if schema:
        click.echo(json.dumps(PolicyModel.model_json_schema(), indent=2))
        return
    checked, issues = check_paths(list(paths) or [shipped_configs()])
    for issue in issues:
        click.echo(str(issue), err=True)
    if issues:
        die(f"{len(issues)} error(s) in {checked} file(s)", EXIT_CONFIG)
    click.echo(f"ok: {checked} file(s) valid")


@click.command()
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
    from pipeline.core.lines import Oversize, read_lines

    if not sys.stdout.isatty():
        die(
            "explain shows original values and writes to a terminal only "
            "(stdout is a pipe or a file); run it in an interactive terminal",
            EXIT_CONFIG,
        )
    if (line is None) == (input_ is None):
        die("give one LINE argument or --input FILE", EXIT_CONFIG)
    with errors():
        engine = build_engine(policy, key_file, key_id, ner)
    if line is not None:
        raws: list[bytes] = [line.encode("utf-8", "surrogateescape")]
    else:
        with open_in(input_ or "-") as src:
            raws = [
                r
                for r in read_lines(src, engine.policy.model.limits.max_bytes)
                if not isinstance(r, Oversize)
            ][:limit]
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


@click.command("test-policies")
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

    from pipeline.tools.golden import default_case_files, run_case_file

    files: list[Traversable] = [Path(p) for p in paths] or default_case_files()
    failures = 0
    total = 0
    with errors():
        for f in files:
            results = run_case_file(f, Path(policies_dir) if policies_dir else None)
            for r in results:
                total += 1
                if not r.ok:
                    failures += 1
                    click.echo(
                        f"FAIL {f.name}::{r.case_id}\n"
                        f"  expected: {r.expected}\n  got:      {r.got}",
                        err=True,
                    )
    click.echo(f"{total - failures} passed, {failures} failed")
    if failures:
        sys.exit(EXIT_FAILED)


COMMANDS = (scrub, check, explain, test_policies)
