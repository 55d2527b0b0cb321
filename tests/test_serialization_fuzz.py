"""Fuzzing the checkpoint and safetensors loaders: damaged input may fail, but only with
RuntimeError or pickle.UnpicklingError -- never another exception, a crash or a hang.

Hypothesis mutates valid files three ways: the raw checkpoint bytes (zip structure and
storages), the pickle inside an otherwise valid zip, and safetensors bytes. The corpus
in tests/fixtures/serialization/corpus/ keeps inputs found this way that reach distinct
error paths; each is replayed as a regular test. Regenerate it with
``python tests/test_serialization_fuzz.py --regenerate-corpus``.
"""

from __future__ import annotations

import io
import json
import pathlib
import pickle
import random
import sys
import zipfile
from collections import OrderedDict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import rtorch
from rtorch import _checkpoint_zip
from rtorch import safetensors as st

CORPUS = pathlib.Path(__file__).parent / "fixtures" / "serialization" / "corpus"
ALLOWED = (RuntimeError, pickle.UnpicklingError)


def _valid_checkpoint() -> bytes:
    base = rtorch.arange(24.0).reshape(4, 6)
    obj = {
        "sd": OrderedDict(
            w=base,
            t=base.t(),
            mask=rtorch.ones(3, dtype=rtorch.bool),
            half=rtorch.ones(2, dtype=rtorch.bfloat16),
        ),
        "opt": {"state": {0: {"step": rtorch.tensor(1.0)}}, "groups": [{"betas": (0.9, 0.99)}]},
        "size": rtorch.Size([2]),
        "dtype": rtorch.float16,
    }
    buf = io.BytesIO()
    rtorch.save(obj, buf)
    return buf.getvalue()


CHECKPOINT = _valid_checkpoint()
RECORDS = {n: zipfile.ZipFile(io.BytesIO(CHECKPOINT)).read(n) for n in
           zipfile.ZipFile(io.BytesIO(CHECKPOINT)).namelist()}  # fmt: skip
PICKLE = RECORDS["archive/data.pkl"]
SAFETENSORS = st.save(
    {"a": rtorch.ones(3), "b": rtorch.arange(4), "c": rtorch.ones(2, dtype=rtorch.bool)},
    metadata={"k": "v"},
)


def rezip(pickle_bytes: bytes) -> bytes:
    """The valid checkpoint with its data.pkl replaced."""
    out = io.BytesIO()
    writer = _checkpoint_zip.ZipWriter(out)
    for name, data in RECORDS.items():
        writer.write_record(name, pickle_bytes if name.endswith("data.pkl") else data)
    writer.close()
    return out.getvalue()


def load_checkpoint(data: bytes) -> None:
    try:
        rtorch.load(io.BytesIO(data))
    except ALLOWED:
        pass


def load_safetensors(data: bytes) -> None:
    try:
        st.load(data)
    except ALLOWED:
        pass


# One edit: (kind, position fraction, payload).
EDIT = hs.tuples(
    hs.sampled_from(["set", "xor", "delete", "insert", "truncate", "int32"]),
    hs.floats(0, 1, allow_nan=False),
    hs.integers(0, 2**32 - 1),
)


def apply_edits(data: bytes, edits: list) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        if not out:
            break
        i = min(int(where * len(out)), len(out) - 1)
        if kind == "set":
            out[i] = value & 0xFF
        elif kind == "xor":
            out[i] ^= 1 << (value % 8)
        elif kind == "delete":
            del out[i : i + 1 + value % 8]
        elif kind == "insert":
            out[i:i] = value.to_bytes(4, "little")[: 1 + value % 4]
        elif kind == "truncate":
            del out[i:]
        else:
            out[i : i + 4] = value.to_bytes(4, "little")
    return bytes(out)


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


@FUZZ
@given(hs.lists(EDIT, min_size=1, max_size=6))
def test_fuzz_checkpoint_bytes(edits):
    load_checkpoint(apply_edits(CHECKPOINT, edits))


@FUZZ
@given(hs.lists(EDIT, min_size=1, max_size=6))
def test_fuzz_checkpoint_pickle(edits):
    load_checkpoint(rezip(apply_edits(PICKLE, edits)))


@FUZZ
@given(hs.lists(EDIT, min_size=1, max_size=6))
def test_fuzz_safetensors_bytes(edits):
    load_safetensors(apply_edits(SAFETENSORS, edits))


@FUZZ
@given(hs.binary(max_size=300))
def test_fuzz_arbitrary_pickle_in_valid_zip(data):
    load_checkpoint(rezip(b"\x80\x02" + data))


# ------------------------------------------------------------------------------------
# The corpus, replayed
# ------------------------------------------------------------------------------------

INDEX = json.loads((CORPUS / "index.json").read_text()) if (CORPUS / "index.json").exists() else {}


@pytest.mark.parametrize("name", sorted(INDEX))
def test_corpus(name):
    data = (CORPUS / name).read_bytes()
    expected = INDEX[name]
    loader = st.load if name.startswith("st-") else (lambda d: rtorch.load(io.BytesIO(d)))
    if expected == "ok":
        loader(data)
        return
    with pytest.raises(ALLOWED) as info:
        loader(data)
    assert type(info.value).__name__ == expected


def test_corpus_is_present():
    assert len(INDEX) >= 20


def _regenerate_corpus(seconds: float = 60.0, per_kind: int = 14) -> None:
    """Keep one input per distinct (kind, error class, first words of the message)."""
    import time

    rng = random.Random(0)
    found: dict[tuple, tuple[str, bytes]] = {}
    sources = {
        "ckpt": lambda: apply_edits(CHECKPOINT, _random_edits(rng)),
        "pkl": lambda: rezip(apply_edits(PICKLE, _random_edits(rng))),
        "st": lambda: apply_edits(SAFETENSORS, _random_edits(rng)),
    }
    end = time.time() + seconds
    while time.time() < end:
        kind = rng.choice(list(sources))
        data = sources[kind]()
        try:
            (st.load if kind == "st" else (lambda d: rtorch.load(io.BytesIO(d))))(data)
            outcome, words = "ok", ""
        except ALLOWED as exc:
            outcome = type(exc).__name__
            words = " ".join(str(exc).split(":")[-1].split()[:4])
        key = (kind, outcome, words)
        if key not in found and sum(k[0] == kind for k in found) < per_kind:
            found[key] = (outcome, data)
    CORPUS.mkdir(parents=True, exist_ok=True)
    for old in CORPUS.glob("*.bin"):
        old.unlink()
    index = {}
    for i, ((kind, _, _), (outcome, data)) in enumerate(sorted(found.items())):
        name = f"{'st' if kind == 'st' else 'ckpt'}-{kind}-{i:02d}.bin"
        (CORPUS / name).write_bytes(data)
        index[name] = outcome
    (CORPUS / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(f"{len(index)} corpus inputs")


def _random_edits(rng: random.Random) -> list:
    kinds = ["set", "xor", "delete", "insert", "truncate", "int32"]
    return [
        (rng.choice(kinds), rng.random(), rng.randrange(2**32)) for _ in range(rng.randint(1, 4))
    ]


if __name__ == "__main__" and "--regenerate-corpus" in sys.argv:
    _regenerate_corpus()
