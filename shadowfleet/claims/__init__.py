"""Claims: public statements about ship movements, and what the AIS says about each.

- :mod:`~shadowfleet.claims.model`: the ``Claim`` objects and name normalisation;
- :mod:`~shadowfleet.claims.loader`: YAML claims files, validated with one-line errors;
- :mod:`~shadowfleet.claims.vessels`: a claim's vessels resolved through the statics, and
  their track coverage over the window;
- :mod:`~shadowfleet.claims.evaluate`: counting in the window and the verdicts.
"""

from shadowfleet.claims.evaluate import ClaimParams, ClaimResult, ClaimsEvaluation, evaluate_claims
from shadowfleet.claims.loader import (bundled_claim_files, bundled_claims, check_ports,
                                       load_claim_file, load_claims)
from shadowfleet.claims.model import KINDS, Claim, Vessels, Window, normalise_name

__all__ = ["Claim", "Vessels", "Window", "KINDS", "normalise_name", "load_claims",
           "load_claim_file", "bundled_claim_files", "bundled_claims", "check_ports",
           "evaluate_claims", "ClaimsEvaluation", "ClaimResult", "ClaimParams"]
