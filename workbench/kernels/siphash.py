"""SipHash-2-4 (64-bit output) as numba loops over whole arrays, and their CUDA twins.

SipHash is a keyed PRF (Aumasson & Bernstein, 2012): with a secret key its tokens cannot be
reversed or precomputed, which is what pseudonymisation needs. Loops compile on first call and
are cached on disk (``cache=True``). The CUDA kernels (``cuda_words``, ``cuda_offsets``) are the
same algorithm written once in CUDA C, compiled by cupy on first use; tokens are bit-identical.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
from numba import njit

from ._cuda import raw_kernel

_C0 = np.uint64(0x736F6D6570736575)  # "somepseudorandomlygeneratedbytes"
_C1 = np.uint64(0x646F72616E646F6D)
_C2 = np.uint64(0x6C7967656E657261)
_C3 = np.uint64(0x7465646279746573)
_FF = np.uint64(0xFF)
_LEN8 = np.uint64(8 << 56)
_ABS = np.uint64(0x7FFFFFFFFFFFFFFF)
_INF_BITS = np.uint64(0x7FF0000000000000)
#: The bits every NaN is hashed as (numpy's ``np.nan``).
CANONICAL_NAN_BITS = np.uint64(0x7FF8000000000000)


def split_key(key: bytes) -> tuple[np.uint64, np.uint64]:
    """The two little-endian 64-bit halves (k0, k1) of a 16-byte key."""
    return (
        np.uint64(int.from_bytes(key[:8], "little")),
        np.uint64(int.from_bytes(key[8:16], "little")),
    )


@njit(inline="always")
def _rotl(x, b):
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit(inline="always")
def _sipround(v0, v1, v2, v3):
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit(inline="always")
def _load8(data, p):
    # Byte loads that LLVM folds into one unaligned little-endian 64-bit load.
    return (
        np.uint64(data[p])
        | (np.uint64(data[p + 1]) << np.uint64(8))
        | (np.uint64(data[p + 2]) << np.uint64(16))
        | (np.uint64(data[p + 3]) << np.uint64(24))
        | (np.uint64(data[p + 4]) << np.uint64(32))
        | (np.uint64(data[p + 5]) << np.uint64(40))
        | (np.uint64(data[p + 6]) << np.uint64(48))
        | (np.uint64(data[p + 7]) << np.uint64(56))
    )


@njit(inline="always")
def _finish(v0, v1, v2, v3, b):
    v3 ^= b
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0 ^= b
    v2 ^= _FF
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


@njit(inline="always")
def _siphash_bytes(data, start, length, k0, k1):
    v0 = k0 ^ _C0
    v1 = k1 ^ _C1
    v2 = k0 ^ _C2
    v3 = k1 ^ _C3
    tail = length & 7
    end = start + length - tail
    p = start
    while p < end:
        m = _load8(data, p)
        v3 ^= m
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0 ^= m
        p += 8
    b = np.uint64(length & 0xFF) << np.uint64(56)
    for j in range(tail):
        b |= np.uint64(data[p + j]) << np.uint64(8 * j)
    return _finish(v0, v1, v2, v3, b)


@njit(cache=True, nogil=True)
def siphash_offsets(data, offsets, k0, k1, out):
    """Hash ``data[offsets[i]:offsets[i + 1]]`` into ``out[i]`` (Arrow binary/string layout)."""
    for i in range(out.shape[0]):
        start = offsets[i]
        out[i] = _siphash_bytes(data, start, offsets[i + 1] - start, k0, k1)


@njit(cache=True, nogil=True)
def siphash_words(words, k0, k1, as_float, out):
    """Hash each uint64 as its 8 little-endian bytes into ``out``.

    With ``as_float`` the words are float64 bits: -0.0 is hashed as 0.0 and every NaN as
    ``CANONICAL_NAN_BITS``, so equal floats give equal tokens.
    """
    for i in range(out.shape[0]):
        m = words[i]
        if as_float:
            a = m & _ABS
            if a > _INF_BITS:
                m = CANONICAL_NAN_BITS
            elif a == np.uint64(0):
                m = np.uint64(0)
        v0 = k0 ^ _C0
        v1 = k1 ^ _C1
        v2 = k0 ^ _C2
        v3 = k1 ^ _C3 ^ m
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0, v1, v2, v3 = _sipround(v0, v1, v2, v3)
        v0 ^= m
        out[i] = _finish(v0, v1, v2, v3, _LEN8)


# -- CUDA twins (cupy compiles them on first use) -----------------------------------------

_CUDA_SIPHASH = r"""
typedef unsigned long long u64;
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                   \
    do {                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);  \
    } while (0)

__device__ __forceinline__ u64 sip_finish(u64 v0, u64 v1, u64 v2, u64 v3, u64 b) {
    v3 ^= b; SIPROUND; SIPROUND; v0 ^= b;
    v2 ^= 0xffULL; SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

__device__ __forceinline__ u64 sip_word(u64 m, u64 k0, u64 k1) {
    u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
    u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL ^ m;
    SIPROUND; SIPROUND; v0 ^= m;
    return sip_finish(v0, v1, v2, v3, 8ULL << 56);
}

__device__ __forceinline__ u64 canonical_float_bits(double d) {
    u64 m = (u64)__double_as_longlong(d);
    u64 a = m & 0x7fffffffffffffffULL;
    if (a > 0x7ff0000000000000ULL) return 0x7ff8000000000000ULL;
    return a == 0 ? 0ULL : m;
}
"""

_CUDA_OFFSETS = r"""
extern "C" __global__ void siphash_offsets(const unsigned char* data, const OFFSET* offsets,
                                           u64 k0, u64 k1, u64* out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        long long p = offsets[i], length = offsets[i + 1] - p;
        u64 v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
        u64 v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
        long long end = p + length - (length & 7);
        for (; p < end; p += 8) {
            u64 m = 0;
            for (int j = 0; j < 8; ++j) m |= (u64)data[p + j] << (8 * j);
            v3 ^= m; SIPROUND; SIPROUND; v0 ^= m;
        }
        u64 b = (u64)(length & 0xff) << 56;
        for (int j = 0; j < (int)(length & 7); ++j) b |= (u64)data[p + j] << (8 * j);
        out[i] = sip_finish(v0, v1, v2, v3, b);
    }
}
"""


@cache
def cuda_words(as_float: bool) -> Any:
    """A cupy ``ElementwiseKernel(x, k0, k1) -> out``: each integer hashed as its int64 bits
    (``as_float=False``) or each float as its canonical float64 bits, fused with the cast."""
    import cupy

    word = "canonical_float_bits((double)x)" if as_float else "(u64)(long long)x"
    return cupy.ElementwiseKernel(
        "T x, uint64 k0, uint64 k1",
        "uint64 out",
        f"out = sip_word({word}, k0, k1)",
        f"workbench_siphash_{'float' if as_float else 'int'}",
        preamble=_CUDA_SIPHASH,
    )


def cuda_offsets(offset_type: str) -> Any:
    """A cupy ``RawKernel`` hashing ``data[offsets[i]:offsets[i+1]]`` (``offset_type``: "int"
    for Arrow string/binary, "long long" for large_string/large_binary)."""
    source = _CUDA_SIPHASH + _CUDA_OFFSETS.replace("OFFSET", offset_type)
    return raw_kernel(source, "siphash_offsets")
