"""What the client knows of its model: its cuts with the tensor shape at each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cut:
    name: str
    device_ms: float
    bytes: int
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelDescription:
    """A model's cuts in execution order (index L = len(cuts) - 1 runs everything locally)."""

    model: str
    batch: int
    result_bytes: int
    cuts: tuple[Cut, ...]

    @property
    def last(self) -> int:
        return len(self.cuts) - 1

    def profile(self) -> dict:
        """The `profile` message of docs/protocol.md."""
        return {
            "model": self.model,
            "batch": self.batch,
            "resultBytes": self.result_bytes,
            "cuts": [{"name": c.name, "deviceMs": c.device_ms, "bytes": c.bytes} for c in self.cuts],
        }

    @staticmethod
    def load(path: str | Path) -> "ModelDescription":
        """Reads `{model, batch, resultBytes, cuts: [{name, deviceMs, bytes, shape}]}`."""
        spec = json.loads(Path(path).read_text())
        cuts = tuple(
            Cut(c["name"], float(c["deviceMs"]), int(c["bytes"]), tuple(int(d) for d in c["shape"]))
            for c in spec["cuts"]
        )
        if len(cuts) < 2:
            raise ValueError(f"{path}: a model needs at least 2 cuts (input and output)")
        return ModelDescription(spec["model"], int(spec.get("batch", 1)), int(spec.get("resultBytes", 0)), cuts)
