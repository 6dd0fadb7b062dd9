"""The federated wire format: a JSON header and raw tensor frames, decoded without unpickling,
and every malformed, oversized or wrong-shaped message refused with its reason; and secure
aggregation's masks, which cancel in the sum."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
import torch

from workbench.fl.secure import FRACTION_BITS, mask, new_key, unmask_sum
from workbench.fl.wire import MAX_HEADER_BYTES, WireError, check, decode, encode, signature

TENSORS = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3),
           "b": torch.tensor([1.5, -2.0], dtype=torch.float64),
           "n": torch.tensor(7, dtype=torch.int64), "e": torch.zeros(0, 4)}


def test_a_round_trip_keeps_names_dtypes_shapes_and_values():
    frames = encode({"type": "update", "round": 3, "client": 1}, TENSORS)
    header, tensors = decode(frames, signature(TENSORS))
    assert header["type"] == "update" and header["round"] == 3
    assert [t["name"] for t in header["tensors"]] == list(TENSORS)
    for name, tensor in TENSORS.items():
        assert tensors[name].dtype == tensor.dtype and torch.equal(tensors[name], tensor)
    assert len(frames[1]) == 6 * 4  # raw float32 bytes, no framing


def test_bfloat16_and_noncontiguous_tensors_travel():
    t = torch.arange(12, dtype=torch.bfloat16).reshape(3, 4).T
    _, out = decode(encode({"type": "x"}, {"t": t}))
    assert torch.equal(out["t"], t)


def malformed():
    good = encode({"type": "update", "round": 1}, TENSORS)
    header = orjson.loads(good[0])
    wrong_dtype = {**header, "tensors": [{**header["tensors"][0], "dtype": "object"},
                                         *header["tensors"][1:]]}
    bad_shape = {**header, "tensors": [{**header["tensors"][0], "shape": [-1, 3]},
                                       *header["tensors"][1:]]}
    twice = {**header, "tensors": [header["tensors"][0]] * 4}
    return [
        ([], "an empty message"),
        ([b"not json", *good[1:]], "not JSON"),
        ([b"[1, 2]", *good[1:]], "without a message type"),
        ([b'{"type": "update"}', *good[1:]], "describes 0 tensors but 4"),
        (good[:-1], "describes 4 tensors but 3"),
        ([good[0], good[1][:-1], *good[2:]], "needs 24 bytes, got 23"),
        ([good[0], good[1] + b"\0" * 1000, *good[2:]], "needs 24 bytes, got 1024"),
        ([orjson.dumps(wrong_dtype), *good[1:]], "dtype 'object'"),
        ([orjson.dumps(bad_shape), *good[1:]], "not a list of sizes"),
        ([orjson.dumps(twice), *[good[1]] * 4], "twice"),
        ([b" " * (MAX_HEADER_BYTES + 1)], "a header of"),
    ]


@pytest.mark.parametrize(("frames", "reason"), malformed())
def test_malformed_messages_are_refused_with_the_reason(frames, reason):
    with pytest.raises(WireError, match=reason):
        decode(frames)


def test_a_wrong_shaped_or_incomplete_update_is_refused_against_the_model():
    expected = signature(TENSORS)
    other = {**TENSORS, "w": torch.zeros(3, 2)}
    with pytest.raises(WireError, match=r"tensor 'w' is float32 \[3, 2\], expected float32"):
        decode(encode({"type": "update"}, other), expected)
    with pytest.raises(WireError, match=r"missing \['b'\]"):
        check({k: v for k, v in TENSORS.items() if k != "b"}, expected)
    with pytest.raises(WireError, match=r"unexpected \['z'\]"):
        check({**TENSORS, "z": torch.zeros(1)}, expected)


def test_decoding_never_unpickles(monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    decode(encode({"type": "update"}, TENSORS))


def test_pairwise_masks_cancel_and_hide_each_update():
    rng = np.random.default_rng(0)
    updates = {i: rng.normal(scale=0.05, size=1000) for i in range(4)}
    keys = {i: new_key() for i in updates}
    peers = {i: public for i, (_, public) in keys.items()}
    masked = {i: mask(updates[i], i, keys[i][0], peers, round_=5) for i in updates}
    total = unmask_sum(list(masked.values()))
    step = 2.0 ** -FRACTION_BITS
    assert np.abs(total - sum(updates.values())).max() <= 4 * step / 2 + 1e-12
    for i, vector in masked.items():  # one masked update looks uniform: no trace of the values
        signed = vector.view(np.int32).astype(np.float64) * step
        assert np.abs(signed).mean() > 100 * np.abs(updates[i]).mean()
    # without one client's masked vector, the rest do not sum to anything meaningful
    partial = unmask_sum([masked[i] for i in (0, 1, 2)])
    assert np.abs(partial - sum(updates[i] for i in (0, 1, 2))).mean() > 1.0


def test_an_update_too_large_for_the_fixed_point_is_refused():
    from workbench.fl.errors import FederatedError

    private, public = new_key()
    with pytest.raises(FederatedError, match="does not fit secure aggregation's fixed point"):
        mask(np.array([1e4]), 0, private, {0: public, 1: new_key()[1]}, 1)
