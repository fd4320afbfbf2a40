"""The wire format: MessagePack maps, tensors as {dtype, shape, data: bin of little-endian float32}.

Mirrors docs/protocol.md. Incoming messages are checked field by field; a message that fails
is reported as an `InvalidMessage` and changes nothing.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import msgpack
import numpy as np

# msgpackr's typed-array extension (older peers send tensor data this way): kind byte, then data.
TYPED_ARRAY_EXT = 0x74
FLOAT32_KIND = 7
MAX_DIMS = 8


class InvalidMessage(ValueError):
    """A payload that is not a valid message of its kind; `issues` name the fields."""

    def __init__(self, kind: str, issues: list[str]):
        super().__init__(f"{kind}: " + "; ".join(issues))
        self.kind = kind
        self.issues = issues


def encode_tensor(array: np.ndarray) -> dict[str, Any]:
    """A float32 tensor in its portable form: the values as little-endian bytes (a msgpack bin)."""
    values = np.ascontiguousarray(array, dtype="<f4")
    return {"dtype": "float32", "shape": [int(d) for d in values.shape], "data": values.tobytes()}


def _ext_hook(code: int, data: bytes) -> Any:
    if code == TYPED_ARRAY_EXT and len(data) >= 1 and data[0] == FLOAT32_KIND:
        return np.frombuffer(data[1:], dtype="<f4") if (len(data) - 1) % 4 == 0 else None
    return msgpack.ExtType(code, data)


def encode(message: Mapping[str, Any], keep_none: bool = False) -> bytes:
    """A message as MessagePack bytes: None values left out, as optional fields are, or with
    `keep_none` sent as nil (the fields of `stats` that are null when no task finished)."""
    kept = message if keep_none else {k: v for k, v in message.items() if v is not None}
    return msgpack.packb(dict(kept), use_bin_type=True)


def decode(kind: str, payload: bytes) -> dict[str, Any]:
    """Decodes and checks a payload of `kind`; raises InvalidMessage."""
    try:
        value = msgpack.unpackb(payload, raw=False, ext_hook=_ext_hook, strict_map_key=True)
    except Exception as error:  # noqa: BLE001 - any decoding failure is the sender's
        raise InvalidMessage(kind, [f"not valid MessagePack ({error})"]) from error
    if not isinstance(value, dict):
        raise InvalidMessage(kind, ["must be a map"])
    issues: list[str] = []
    for field, check in _FIELDS[kind].items():
        optional = field.endswith("?")
        name = field.rstrip("?")
        if name not in value or value[name] is None:
            if not optional:
                issues.append(f"{kind}.{name}: is required")
            continue
        problem = check(value[name])
        if problem:
            issues.append(f"{kind}.{name}: {problem}")
    if issues:
        raise InvalidMessage(kind, issues)
    if "tensor" in value:
        value["tensor"] = decode_tensor(value["tensor"])
    return value


def decode_tensor(tensor: Mapping[str, Any]) -> np.ndarray:
    """The ndarray of a checked tensor map (bin data or msgpackr's extension)."""
    data = tensor["data"]
    flat = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype="<f4")
    return flat.reshape(tensor["shape"])


def _number(minimum: float = 0.0, strict: bool = False):
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            return "must be a finite number"
        if v < minimum or (strict and v == minimum):
            return f"must be {'>' if strict else '>='} {minimum}"
        return None

    return check


def _integer(v: Any) -> str | None:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        return "must be an integer >= 0"
    return None


def _string(v: Any) -> str | None:
    return None if isinstance(v, str) else "must be a string"


def _tensor(v: Any) -> str | None:
    if not isinstance(v, dict):
        return "must be a map {dtype, shape, data}"
    if v.get("dtype") != "float32":
        return 'dtype must be "float32"'
    shape = v.get("shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= MAX_DIMS or any(_integer(d) for d in shape):
        return f"shape must be 1 to {MAX_DIMS} integers >= 0"
    data = v.get("data")
    count = math.prod(shape)
    if isinstance(data, np.ndarray):
        length = data.size
    elif isinstance(data, (bytes, bytearray)) and len(data) % 4 == 0:
        length = len(data) // 4
    else:
        return "data must be a bin of little-endian float32 values"
    if length != count:
        return f"data must hold {count} values for shape {shape}, not {length}"
    return None


def _list_of_strings(v: Any) -> str | None:
    if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
        return "must be an array of strings"
    return None


_FIELDS: dict[str, dict[str, Any]] = {
    "decision": {
        "epoch": _integer,
        "cut": _integer,
        "cutName": _string,
        "units": _integer,
        "predictedMs": _number(),
        "solver": _string,
        "model?": _string,
        "protocol?": _integer,
    },
    "result": {
        "requestId": _string,
        "epoch": _integer,
        "cut": _integer,
        "sample": _integer,
        "worker": _string,
        "tensor": _tensor,
        "timings": lambda v: None if isinstance(v, dict) else "must be a map {queueMs, computeMs}",
    },
    "error": {
        "code": _string,
        "message": _string,
        "topic?": _string,
        "requestId?": _string,
        "issues": _list_of_strings,
    },
}
