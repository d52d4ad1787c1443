"""Tool commands: ``reveal`` and ``audit`` (audited re-identification), ``keys``, ``eval``,
``corpus`` and ``playground``.

Security: ``reveal`` prints an original value only after its audit record is written;
nothing else prints a record value.
"""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import (
    EXIT_CONFIG,
    audit_log_option,
    build_engine,
    die,
    errors,
    key_file_option,
    key_id_option,
    ner_option,
    open_out,
    policy_option,
    reason_option,
)


@click.command()
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
    from pipeline.operators.tokens import parse_encrypted

    with errors():
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


@click.group()
def audit() -> None:
    """The re-identification audit log."""


@audit.command("verify")
@audit_log_option
def audit_verify(audit_log: str | None) -> None:
    """Check the audit log's hash chain: exit 1 at the first edited, removed or reordered
    record. Prints the head hash: keep it elsewhere to detect a cut-off tail later."""
    from pipeline import audit as audit_mod

    path = Path(audit_log) if audit_log else audit_mod.default_path()
    with errors():
        verified = audit_mod.verify_log(path)
    click.echo(f"ok: {path}: {verified.records} record(s); head {verified.head}")


@click.group()
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

    with errors():
        new_id, ids = add_to_ring(Path(key_file), key_id)
    click.echo(f"{key_file}: added key {new_id} (active); keys: {', '.join(ids)}")


@keys.command("list")
@key_file_option
@key_id_option
def keys_list(key_file: str | None, key_id: str | None) -> None:
    """List the key ids of the configured key or ring (never a secret); the active one first."""
    from pipeline.keys import KeyRing

    with errors():
        ring = KeyRing.load(key_file, key_id)
    if ring is None:
        die("no key configured (--key-file, $LOGSCRUB_KEY_FILE or $LOGSCRUB_KEY)", EXIT_CONFIG)
    for n, kid in enumerate(ring.ids):
        click.echo(f"{kid}\t{'active' if n == 0 else 'older: reveal and decrypt only'}")


@click.group("eval")
def eval_() -> None:
    """Measure detection quality: leaks and damage on labelled logs, span precision/recall."""


# Gold types of span corpora that are not personal data in the sense of this tool (or are
# other countries' ids it does not target); left out of span scores rather than hidden.
NOT_TARGETED = ("ORGANIZATION", "DATE_TIME", "TITLE", "PREFIX", "DOMAIN_NAME", "NRP")


@eval_.command("logs")
@policy_option
@click.option(
    "--labelled",
    type=click.Path(dir_okay=False),
    default=None,
    help="Labelled JSONL (from `logscrub corpus`).",
)
@click.option(
    "--generated",
    "-n",
    default=5000,
    show_default=True,
    help="Else: generate this many labelled lines.",
)
@click.option("--seed", default=1, show_default=True)
@click.option(
    "--density", default=0.3, show_default=True, help="Fraction of generated records holding PII."
)
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

    from pipeline.tools.corpus import generate_labelled, read_jsonl
    from pipeline.tools.evaluation import leak_damage

    with errors():
        engine = build_engine(policy, key_file, key_id, ner)
    items = (
        read_jsonl(labelled)
        if labelled
        else generate_labelled(generated, seed=seed, density=density)
    )
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

    from pipeline.detection.scanner import Scanner
    from pipeline.tools.evaluation import (
        IGNORE,
        load_conll,
        load_presidio_research,
        outside_changed,
        span_scores,
    )

    if fmt == "auto":
        fmt = "presidio" if path.lower().endswith(".json") else "conll"
    examples = load_presidio_research(path) if fmt == "presidio" else load_conll(path)
    if limit:
        examples = examples[:limit]
    nerd = None
    if ner is not False:
        from pipeline.detection.ner import NerDetector

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
        changed, total = outside_changed(
            examples, detect, person[0] if person else "", han_only=han
        )
        collateral = {
            "changed": changed,
            "total": total,
            "rate": changed / total if total else 0.0,
            "characters": "han" if han else "all",
        }
    if as_json:
        out: dict[str, object] = dict(scores)
        if collateral is not None:
            out["outside_changed"] = collateral
        click.echo(json.dumps(out, indent=2))
        return
    click.echo(f"{'entity':<20}{'gold':>6}{'pred':>6}{'precision':>11}{'recall':>8}{'F2':>7}")
    for entity, row in sorted(
        scores.items(), key=lambda kv: (kv[0] in ("micro", "any_type"), kv[0])
    ):
        gold = int(row["tp"] + row["fn"])
        pred = int(row["pred_tp"] + row["fp"]) if "pred_tp" in row else int(row["tp"] + row["fp"])
        click.echo(
            f"{entity:<20}{gold:>6}{pred:>6}{row['precision']:>11.3f}{row['recall']:>8.3f}{row['f2']:>7.3f}"
        )
    if collateral is not None:
        click.echo(
            f"other {collateral['characters']} characters changed: "
            f"{collateral['changed']}/{collateral['total']} ({collateral['rate']:.2%})"
        )


# Gold person-name types of CoNLL corpora (Weibo NER: PER.NAM; CoNLL-2003 and most
# others: PER).
_CONLL_PERSON = frozenset({"PER.NAM", "PER", "PERSON"})


@click.command()
@click.option("--output", "-o", default="-", help="Labelled JSONL output (default stdout).")
@click.option("-n", "count", default=10000, show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--density", default=0.3, show_default=True)
@click.option("--lines-only", is_flag=True, help="Only the raw lines (benchmark input), no labels.")
def corpus(output: str, count: int, seed: int, density: float, lines_only: bool) -> None:
    """Generate the deterministic synthetic labelled log corpus (see pipeline/tools/corpus.py)."""
    from pipeline.tools.corpus import generate_labelled, generate_lines, write_jsonl

    if lines_only:
        dst = open_out(output)
        for line in generate_lines(count, seed=seed, density=density):
            dst.write(line.encode() + b"\n")
        dst.flush()
        return
    write_jsonl(
        "/dev/stdout" if output == "-" else output,
        generate_labelled(count, seed=seed, density=density),
    )


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to bind (no other is accepted).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port (0: any free port).",
)
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
    from pipeline.tools.playground import Playground, check_loopback, serve

    with errors():
        check_loopback(host)
        pg = Playground(KeyRing.load(key_file, key_id), ner=ner)

    def ready(url: str) -> None:
        click.echo(f"logscrub playground: open {url}", err=True)
        if pg.ephemeral:
            click.echo("  (no key configured: pseudonyms use an ephemeral key)", err=True)

    try:
        serve(pg, host, port, ready)
    except OSError as exc:
        die(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_CONFIG)


COMMANDS = (reveal, audit, keys, eval_, corpus, playground)
