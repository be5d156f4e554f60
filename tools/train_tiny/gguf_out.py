"""The project's own GGUF v3 writer and reader, with ggml's reference Q8_0 and
Q4_0 quantizers (numpy only). Written from the GGUF specification:

  header   "GGUF", u32 version 3, u64 tensor count, u64 key count
  keys     string key, u32 value type, value (arrays: u32 type, u64 count, items)
  tensors  string name, u32 n_dims, u64 ne[n_dims] (ne[0] contiguous), u32 type,
           u64 offset into the data section (a multiple of general.alignment)
  data     starts at the first multiple of the alignment (32) after the infos

Q8_0 block (34 bytes): f16 d, int8 q[32];            value = d * q
Q4_0 block (18 bytes): f16 d, u8 qs[16], byte j holds weight j in its low
                       nibble and weight j+16 in its high one; value = d * (q - 8)

The quantizers round exactly as ggml's quantize_row_q8_0_ref / q4_0_ref do, in
float32 (no fused multiply-add)."""
import struct

import numpy as np

# metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
# tensor types
T_F32, T_F16, T_Q4_0, T_Q8_0 = 0, 1, 2, 8
BLOCK = {T_F32: (1, 4), T_F16: (1, 2), T_Q4_0: (32, 18), T_Q8_0: (32, 34)}
TYPE_NAME = {T_F32: "F32", T_F16: "F16", T_Q4_0: "Q4_0", T_Q8_0: "Q8_0"}
ALIGN = 32

_SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q",
           I64: "<q", F64: "<d"}


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == STRING:
        return _str(v)
    if vtype == ARRAY:
        etype, items = v
        out = [struct.pack("<IQ", etype, len(items))]
        if etype == STRING:
            out += [_str(x) for x in items]
        else:
            out.append(np.asarray(items, dtype=np.dtype(_SCALAR[etype])).tobytes())
        return b"".join(out)
    return struct.pack(_SCALAR[vtype], v)


# ---- quantizers -------------------------------------------------------------------

def quantize_q8_0(x):
    """[rows, cols] float32 -> bytes, ggml's quantize_row_q8_0_ref."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert x.shape[-1] % 32 == 0
    b = x.reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (b * idv[:, None]).astype(np.float32)
    # roundf: half away from zero (exact in float64)
    q = np.trunc(v.astype(np.float64) + np.copysign(0.5, v)).astype(np.int8)
    out = np.empty((b.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def quantize_q4_0(x):
    """[rows, cols] float32 -> bytes, ggml's quantize_row_q4_0_ref."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert x.shape[-1] % 32 == 0
    b = x.reshape(-1, 32)
    i = np.abs(b).argmax(axis=1)  # the first largest magnitude, as ggml's strict '<'
    mx = b[np.arange(b.shape[0]), i]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = ((b * idv[:, None]).astype(np.float32) + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int32)).astype(np.uint8)
    out = np.empty((b.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def dequantize(ttype, data, shape):
    """bytes -> float32 array of shape (numpy order, ne reversed): the exact values."""
    n = int(np.prod(shape))
    raw = np.frombuffer(data, dtype=np.uint8)
    if ttype == T_F32:
        return raw.view(np.float32)[:n].reshape(shape).copy()
    if ttype == T_F16:
        return raw.view(np.float16)[:n].astype(np.float32).reshape(shape)
    blocks = raw.reshape(-1, BLOCK[ttype][1])
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float32)
    if ttype == T_Q8_0:
        q = blocks[:, 2:].view(np.int8).astype(np.float32)
        return (d * q).astype(np.float32).reshape(shape)
    if ttype == T_Q4_0:
        qs = blocks[:, 2:]
        q = np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float32) - 8
        return (d * q).astype(np.float32).reshape(shape)
    raise ValueError(f"type {ttype}")


def encode_tensor(ttype, x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    if ttype == T_F32:
        return x.tobytes()
    if ttype == T_F16:
        return x.astype(np.float16).tobytes()
    if ttype == T_Q8_0:
        return quantize_q8_0(x)
    if ttype == T_Q4_0:
        return quantize_q4_0(x)
    raise ValueError(f"type {ttype}")


def byte_tokens():
    """GPT-2's byte-to-unicode table: the token text of bytes 0..255, in order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


# ---- writer -----------------------------------------------------------------------

class Writer:
    def __init__(self):
        self.kv = []       # (key, vtype, value)
        self.tensors = []  # (name, ttype, shape numpy order, bytes)

    def add(self, key, vtype, value):
        assert all(k != key for k, _, _ in self.kv), key
        self.kv.append((key, vtype, value))

    def add_tensor(self, name, ttype, x):
        """x: float32 numpy array in numpy order ([out, in] for a matrix)."""
        data = encode_tensor(ttype, x)
        self.tensors.append((name, ttype, tuple(x.shape), data))
        return data

    def write(self, path):
        head = [b"GGUF", struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))]
        for k, vt, v in self.kv:
            head.append(_str(k) + struct.pack("<I", vt) + _value(vt, v))
        off = 0
        offsets = []
        for name, tt, shape, data in self.tensors:
            ne = list(reversed(shape))
            head.append(_str(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne) +
                        struct.pack("<IQ", tt, off))
            offsets.append(off)
            off += (len(data) + ALIGN - 1) // ALIGN * ALIGN
        h = b"".join(head)
        h += b"\0" * ((-len(h)) % ALIGN)
        with open(path, "wb") as f:
            f.write(h)
            for (name, tt, shape, data), o in zip(self.tensors, offsets):
                f.write(data)
                f.write(b"\0" * ((-len(data)) % ALIGN))


# ---- reader -----------------------------------------------------------------------

def read(path):
    """-> (metadata dict, {name: (ttype, shape numpy order, bytes)})"""
    buf = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def s():
        nonlocal pos
        n = take("<Q")
        v = buf[pos:pos + n].decode("utf-8")
        pos += n
        return v

    def val(vt):
        if vt == STRING:
            return s()
        if vt == ARRAY:
            et, n = take("<IQ")
            return [val(et) for _ in range(n)]
        return take(_SCALAR[vt])

    assert buf[:4] == b"GGUF"
    pos = 4
    version, n_t, n_kv = take("<IQQ")
    assert version == 3
    meta = {}
    for _ in range(n_kv):
        k = s()
        meta[k] = val(take("<I"))
    infos = []
    for _ in range(n_t):
        name = s()
        nd = take("<I")
        ne = [take("<Q") for _ in range(nd)]
        tt, off = take("<IQ")
        infos.append((name, tt, tuple(reversed(ne)), off))
    base = (pos + ALIGN - 1) // ALIGN * ALIGN
    tensors = {}
    for name, tt, shape, off in infos:
        per, size = BLOCK[tt]
        nbytes = int(np.prod(shape)) // per * size
        tensors[name] = (tt, shape, buf[base + off: base + off + nbytes])
    return meta, tensors
