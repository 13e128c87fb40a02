"""Re-export of the one exception hierarchy (defined in ``ais.errors``, the bottom layer)."""

from ais.errors import (ClaimsError, ConfigError, InputError, NoReceiveTimeError,
                        PortsError, ShadowfleetError, StateError, WatchlistError)

__all__ = ["ShadowfleetError", "InputError", "ConfigError", "PortsError", "ClaimsError",
           "WatchlistError", "NoReceiveTimeError", "StateError"]
