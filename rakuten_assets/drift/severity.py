"""Drift severity: the four levels, their order, what each asks of an operator, and PSI's scale.

The names, thresholds and actions of DESIGN.md, defined once: the report, the alerts, the API,
the gauges and the CLI all use these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum


class Severity(StrEnum):
    """Drift severity, ordered OK < WARNING < ALERT < CRITICAL (not alphabetically)."""

    OK = "OK"
    WARNING = "WARNING"
    ALERT = "ALERT"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """0 for OK up to 3 for CRITICAL (the value of the severity gauge)."""
        return _RANKS[self]

    @property
    def recommended_action(self) -> str:
        return RECOMMENDED_ACTIONS[self]

    @property
    def raises_alert(self) -> bool:
        """ALERT and CRITICAL become alert rows; WARNING is only monitored."""
        return self >= Severity.ALERT

    # str already defines the comparisons (alphabetical), so all four are overridden here.
    def __lt__(self, other: object) -> bool:
        return self.rank < Severity(other).rank if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= Severity(other).rank if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > Severity(other).rank if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= Severity(other).rank if isinstance(other, str) else NotImplemented


_RANKS = {severity: rank for rank, severity in enumerate(Severity)}

#: What an operator should do at each severity (DESIGN.md: WARNING monitor; ALERT investigate /
#: consider retrain; CRITICAL retrain or rollback).
RECOMMENDED_ACTIONS: Mapping[Severity, str] = {
    Severity.OK: "none",
    Severity.WARNING: "monitor",
    Severity.ALERT: "investigate; consider retraining",
    Severity.CRITICAL: "retrain or roll back",
}

#: PSI thresholds of DESIGN.md: OK < 0.1 <= WARNING < 0.2 <= ALERT < 0.3 <= CRITICAL.
PSI_WARNING = 0.1
PSI_ALERT = 0.2
PSI_CRITICAL = 0.3


def severity_from_psi(psi: float) -> Severity:
    """The severity of a PSI value (thresholds of DESIGN.md, lower bound inclusive)."""
    if math.isnan(psi):
        raise ValueError("PSI is NaN: the proportions it was computed from are invalid")
    if psi >= PSI_CRITICAL:
        return Severity.CRITICAL
    if psi >= PSI_ALERT:
        return Severity.ALERT
    if psi >= PSI_WARNING:
        return Severity.WARNING
    return Severity.OK
