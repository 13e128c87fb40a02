"""The scenario simulator: fictional ships around Peter the Great Gulf, the AIS they send,
what two fictional shore stations receive, and the truth of what the ships did.

One concept per module:

- :mod:`~shadowfleet.simulator.world`: ports, sea lanes, receiving stations, geometry;
- :mod:`~shadowfleet.simulator.tracks`: a ship's true movement (stays, passages) and its
  silences (transmitter off, positions withheld);
- :mod:`~shadowfleet.simulator.vessels`: fictional identities;
- :mod:`~shadowfleet.simulator.scenarios`: who sails where and when (``najin-dunay-2023``,
  ``control``);
- :mod:`~shadowfleet.simulator.radio`: what is transmitted and what each station receives;
- :mod:`~shadowfleet.simulator.encoding`: the NMEA sentences, encoded through
  :mod:`ais.encode`;
- :mod:`~shadowfleet.simulator.feed`: the feed (``simulate``, ``write_feed``);
- :mod:`~shadowfleet.simulator.truth`: the truth file (what happened);
- :mod:`~shadowfleet.simulator.accuracy`: a run's events scored against the truth;
- :mod:`~shadowfleet.simulator.run`: the ``simulate`` command.

It imports ``ais`` (to encode and decode) and nothing of ``ports`` or ``detectors``: the
truth shares no code with what it checks.
"""

from shadowfleet.simulator.feed import SCENARIOS, Simulation, simulate, write_feed
from shadowfleet.simulator.truth import build_truth, write_truth

__all__ = ["SCENARIOS", "Simulation", "simulate", "write_feed",
           "build_truth", "write_truth"]
