"""One rule keeps credentials out of shown text: URI passwords and secret-named keys."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraud_detection.redaction import MASK, looks_secret, redact

USERINFO = st.text(string.ascii_letters + string.digits + ":%-._~!$&'()*+,;=", min_size=1)


@pytest.mark.parametrize(("text", "shown"), [
    ("https://alice:s3cret@mlflow.example.com/x", "https://***@mlflow.example.com/x"),
    ("server http://u@h:5000 and grpcs://t:k@pachd:30650 down",
     "server http://***@h:5000 and grpcs://***@pachd:30650 down"),
    ("sqlite:////work/mlflow.db", "sqlite:////work/mlflow.db"),
    ("mail alice@example.com", "mail alice@example.com"),
])
def test_redact_hides_the_userinfo_of_every_uri(text, shown):
    assert redact(text) == shown


@given(user=USERINFO, host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
       before=st.text(max_size=20), after=st.text(" /?#", max_size=5))
def test_no_userinfo_survives_redaction(user, host, before, after):
    text = f"{before} https://{user}@{host}{after}"
    shown = redact(text)
    assert f"https://{MASK}@{host}{after}" in shown and f"//{user}@" not in shown


@pytest.mark.parametrize(("name", "secret"), [
    ("pachyderm.auth_token", True), ("MLFLOW_TRACKING_PASSWORD", True), ("api_key", True),
    ("AWS_SECRET_ACCESS_KEY", True), ("db.Credentials", True), ("PRIVATE_KEY", True),
    ("train.model.max_depth", False), ("split.n_shards", False), ("tokenizer", True),
])
def test_secret_names(name, secret):
    assert looks_secret(name) is secret
