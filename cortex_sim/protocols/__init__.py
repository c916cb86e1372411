"""Virtual experiments: functions from parameters to result objects (no plotting here)."""

from .bac import BACResult, run_bac
from .clamp import ClampResult, run_clamp

__all__ = ["run_bac", "BACResult", "run_clamp", "ClampResult"]
