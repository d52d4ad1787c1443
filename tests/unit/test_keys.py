import pytest

from pipeline.exceptions import ConfigError, KeyMissingError
from pipeline.keys import KeyRing

SECRET = "k" * 40


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
    assert len({ring.pseudonym_key, ring.encryption_key[:32], ring.cryptopan_key, ring.quarantine_key[:32]}) == 4
    assert SECRET not in repr(ring)
    assert ring.pseudonym_key.hex() not in repr(ring)


def test_load_prefers_key_file_then_env(tmp_path):
    f = tmp_path / "key"
    f.write_text("f" * 40 + "\n")
    from_file = KeyRing.load(f, environ={"LOGSCRUB_KEY": SECRET})
    from_env = KeyRing.load(environ={"LOGSCRUB_KEY": SECRET, "LOGSCRUB_KEY_ID": "k9"})
    assert from_file.pseudonym_key == KeyRing.from_secret("f" * 40).pseudonym_key
    assert from_env.key_id == "k9"
    assert KeyRing.load(environ={}) is None


def test_when_key_file_is_missing_then_clear_error(tmp_path):
    with pytest.raises(KeyMissingError, match="cannot be read"):
        KeyRing.load(tmp_path / "nope", environ={})
