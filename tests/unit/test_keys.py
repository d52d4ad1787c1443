import pytest

from pipeline.exceptions import ConfigError, KeyMissingError
from pipeline.keys import KeyRing

SECRET = "unit-keys-secret-0123456789-abcdefghij"
FILE_SECRET = "file-keys-secret-9876543210-klmnopqrst"


def test_when_secret_is_short_then_key_missing_error_without_secret():
    with pytest.raises(KeyMissingError) as exc:
        KeyRing.from_secret("short-secret-value")
    assert "short-secret-value" not in str(exc.value)
    assert "LOGSCRUB_KEY" in str(exc.value)


def test_when_key_id_is_invalid_then_config_error():
    with pytest.raises(ConfigError):
        KeyRing.from_secret(SECRET, "bad id!")


def test_subkeys_differ_per_purpose_and_repr_hides_them():
    ring = KeyRing.from_secret(SECRET)
    assert len(
        {
            ring.pseudonym_key,
            ring.encryption_key[:32],
            ring.cryptopan_key,
            ring.quarantine_key[:32],
        }
    ) == 4
    assert SECRET not in repr(ring)
    assert ring.pseudonym_key.hex() not in repr(ring)


def test_load_prefers_key_file_then_env(tmp_path):
    f = tmp_path / "key"
    f.write_text(FILE_SECRET + "\n")
    from_file = KeyRing.load(f, environ={"LOGSCRUB_KEY": SECRET})
    from_env = KeyRing.load(environ={"LOGSCRUB_KEY": SECRET, "LOGSCRUB_KEY_ID": "k9"})
    assert from_file.pseudonym_key == KeyRing.from_secret(FILE_SECRET).pseudonym_key
    assert from_env.key_id == "k9"
    assert KeyRing.load(environ={}) is None


def test_when_key_file_is_missing_then_clear_error(tmp_path):
    with pytest.raises(KeyMissingError, match="cannot be read"):
        KeyRing.load(tmp_path / "nope", environ={})


def test_when_secret_has_too_few_distinct_characters_then_refused_without_the_secret():
    for weak in ("k" * 40, "password" * 4, "ab" * 20):
        with pytest.raises(KeyMissingError, match="distinct characters") as exc:
            KeyRing.from_secret(weak)
        assert weak not in str(exc.value)


def test_when_key_file_is_a_fifo_then_clear_error_without_blocking(tmp_path):
    import os
    import threading

    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            KeyRing.load(fifo, environ={})
        except BaseException as exc:  # noqa: BLE001 — inspected below
            outcome.append(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive(), "reading a FIFO key file blocked"
    assert outcome and isinstance(outcome[0], KeyMissingError)
    assert "not a regular file" in str(outcome[0])


def test_when_key_file_is_a_directory_then_clear_error(tmp_path):
    with pytest.raises(KeyMissingError, match="not a regular file|cannot be read"):
        KeyRing.load(tmp_path, environ={})
