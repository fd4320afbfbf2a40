"""A device client of edgesplit, outside TypeScript: paho-mqtt, msgpack and numpy."""

from .client import DEFAULT_PREFIX, VERSION, TaskResult, UeClient
from .keys import derive_ue_key
from .model import Cut, ModelDescription
from .stats import StatsWindow
from .wire import InvalidMessage, decode, encode, encode_tensor

__all__ = [
    "DEFAULT_PREFIX",
    "VERSION",
    "Cut",
    "InvalidMessage",
    "ModelDescription",
    "StatsWindow",
    "TaskResult",
    "UeClient",
    "decode",
    "derive_ue_key",
    "encode",
    "encode_tensor",
]
