"""A UE's MQTT password derived from the fleet key (docs/protocol.md, "Connect")."""

import base64
import hashlib
import hmac


def derive_ue_key(fleet_key: str, ue_id: str) -> str:
    """base64url(HMAC-SHA256(fleet key, "edgesplit/ue-key/v1:" + id)), without padding."""
    digest = hmac.new(fleet_key.encode(), f"edgesplit/ue-key/v1:{ue_id}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
