"""Sealed secrets (ais.auth.sealing): what goes in comes out with the right key, and only then."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.auth import sealing

KEY = "the-current-secret-key-" + "a" * 20
OLD = "the-previous-secret-key-" + "b" * 20
OTHER = "someone-elses-secret-key-" + "c" * 20


def config(key=KEY, *fallbacks):
    return {"SECRET_KEY": key, "SECRET_KEY_FALLBACKS": list(fallbacks)}


@settings(max_examples=60)
@given(st.text(max_size=200))
def test_what_is_sealed_opens_again_and_does_not_show(plaintext):
    token = sealing.seal(plaintext, config())
    assert sealing.unseal(token, config()) == plaintext
    assert token.isascii() and (len(plaintext) < 4 or plaintext not in token)


def test_the_same_secret_seals_differently_each_time():
    assert sealing.seal("JBSWY3DPEHPK3PXP", config()) != sealing.seal("JBSWY3DPEHPK3PXP", config())


def test_only_the_key_or_a_fallback_opens_it():
    token = sealing.seal("JBSWY3DPEHPK3PXP", config(OLD))
    with pytest.raises(sealing.UnreadableSecret):
        sealing.unseal(token, config(KEY))
    with pytest.raises(sealing.UnreadableSecret):
        sealing.unseal(token, config(KEY, OTHER))
    assert sealing.unseal(token, config(KEY, OTHER, OLD)) == "JBSWY3DPEHPK3PXP"
    assert not sealing.sealed_with_current_key(token, config(KEY, OLD))


def test_reseal_moves_a_secret_to_the_current_key():
    token = sealing.seal("JBSWY3DPEHPK3PXP", config(OLD))
    moved = sealing.reseal(token, config(KEY, OLD))
    assert sealing.sealed_with_current_key(moved, config(KEY))
    assert sealing.unseal(moved, config(KEY)) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(sealing.UnreadableSecret):
        sealing.reseal(token, config(KEY, OTHER))


@given(
    st.integers(min_value=0, max_value=139),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
)
def test_an_altered_token_is_refused(position, character):
    token = sealing.seal("JBSWY3DPEHPK3PXP", config())
    position %= len(token)
    altered = token[:position] + character + token[position + 1 :]
    if altered == token:
        return
    try:
        opened = sealing.unseal(altered, config())
    except sealing.UnreadableSecret:
        return
    # base64 padding bits: a change that decodes to the same bytes is the same token
    assert opened == "JBSWY3DPEHPK3PXP"


def test_the_derived_key_is_not_the_secret_key_itself():
    assert KEY.encode() not in sealing.derived_key(KEY)
    assert sealing.derived_key(KEY) != sealing.derived_key(OLD)
