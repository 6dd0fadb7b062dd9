"""Secure aggregation by pairwise additive masks (Bonawitz et al. 2017, without the dropout
recovery): the aggregator learns the sum of the clients' updates, not any one of them.

Each sampled client makes an X25519 key pair for the round and sends its public key; the
aggregator hands every client the others' keys. Clients ``i`` and ``j`` then share a secret
(X25519), stretched by HKDF into a ChaCha20 key whose keystream is a vector of uint32. Client
``i`` adds the stream of every ``j > i`` and subtracts that of every ``j < i`` (mod 2^32) to its
update in fixed point (``FRACTION_BITS`` bits after the point): the masks cancel in the sum, so
the aggregator's sum mod 2^32 is the sum of the plain fixed-point updates. The aggregate thus
equals the unmasked one within one fixed-point step per client.

A client that drops after the keys went out leaves its masks in the sum; the round is then run
again without it (new keys). SecAgg+ (Bell et al. 2020, Flower's ``SecAggPlusWorkflow``) instead
secret-shares each mask seed so the survivors can remove a dropped client's masks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.fl.errors import FederatedError

if TYPE_CHECKING:
    import numpy as np
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

FRACTION_BITS = 20  # a step of 2**-20 (~1e-6); sums stay below 2**11 in magnitude
_LIMIT = 2.0 ** (31 - FRACTION_BITS)


def new_key() -> tuple[X25519PrivateKey, str]:
    """A key pair for one round: the private key and the public key in hex (for the header)."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = X25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, public.hex()


def mask(values: np.ndarray, me: int, private: X25519PrivateKey, peers: dict[int, str],
         round_: int) -> np.ndarray:
    """`values` (float64, this client's weighted update) in fixed point plus this client's
    masks, as uint32. `peers` maps every sampled client (this one included) to its public key."""
    import numpy as np

    if np.abs(values).max(initial=0.0) * len(peers) >= _LIMIT:
        raise FederatedError(f"an update of magnitude {np.abs(values).max():.3g} does not fit "
                             f"secure aggregation's fixed point for {len(peers)} clients "
                             f"(|sum| < {_LIMIT:g}); lower lr or clip the updates (dp=)")
    out = encode(values)
    for peer, public in peers.items():
        if peer == me:
            continue
        stream = _stream(private, public, round_, min(me, peer), max(me, peer), len(values))
        out = out + stream if peer > me else out - stream  # uint32 wraps: arithmetic mod 2**32
    return out


def encode(values: np.ndarray) -> np.ndarray:
    """Floats to fixed point mod 2**32 (two's complement)."""
    import numpy as np

    return np.rint(values * (1 << FRACTION_BITS)).astype(np.int64).astype(np.uint32)


def unmask_sum(masked: list[np.ndarray]) -> np.ndarray:
    """The sum of the clients' masked vectors, as floats: the masks cancel mod 2**32."""
    import numpy as np

    total = np.zeros_like(masked[0], dtype=np.uint32)
    for vector in masked:
        total += vector  # wraps mod 2**32
    return total.view(np.int32).astype(np.float64) / (1 << FRACTION_BITS)


def _stream(private: X25519PrivateKey, peer_public: str, round_: int, low: int, high: int,
            n: int) -> np.ndarray:
    """The pair's mask for this round: ChaCha20's keystream under a key from their secret."""
    import numpy as np
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
    from cryptography.hazmat.primitives.ciphers import Cipher
    from cryptography.hazmat.primitives.ciphers.algorithms import ChaCha20
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    try:
        public = X25519PublicKey.from_public_bytes(bytes.fromhex(peer_public))
    except ValueError as err:
        raise FederatedError(f"a peer's public key is not an X25519 key: {err}") from None
    shared = private.exchange(public)
    info = f"workbench secure aggregation round {round_} clients {low} {high}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)
    stream = Cipher(ChaCha20(key, bytes(16)), mode=None).encryptor().update(bytes(4 * n))
    return np.frombuffer(stream, dtype="<u4").astype(np.uint32)
