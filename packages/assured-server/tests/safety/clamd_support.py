"""What the content-safety tests scan for: the signatures shipped in data/ and their samples.

Signature downloads are impossible in the test environment, so the private clamd
(``assured_testing.Clamd``) loads only ``data/assured-test.ndb``: the EICAR test string and one
custom marker, each matched anywhere in a file.
"""

from __future__ import annotations

from pathlib import Path

SIGNATURES = Path(__file__).parent / "data"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CUSTOM_MARKER = b"assured-custom-test-signature-7f3a"
