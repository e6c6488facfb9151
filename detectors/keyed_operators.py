"""The two keyed operators, as presidio-anonymizer Operators (so its AnonymizerEngine runs them too, with
`add_anonymizer`), and every operator dhscan's redaction uses, by name."""

from __future__ import annotations

from presidio_anonymizer.operators import Mask, Operator, OperatorType, Redact, Replace

from detectors.normalize import digest
from detectors.pseudonyms import pseudonym


class KeyedPseudonym(Operator):
    """A consistent realistic fake (detectors.pseudonyms); params: `key` (bytes), `entity_type`, and
    `phone_region` (the region of phone numbers without a country code)."""

    def operate(self, text: str = None, params: dict = None) -> str:
        return pseudonym(params["key"], params["entity_type"], text, params.get("phone_region") or "US")

    def validate(self, params: dict = None) -> None:
        if not isinstance((params or {}).get("key"), bytes):
            raise ValueError("pseudonym needs the run's key")

    def operator_name(self) -> str:
        return "pseudonym"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


class KeyedHash(Operator):
    """`<EMAIL_ADDRESS:3f2a9c1b0d4e>`: the start of the value's keyed digest (the one findings carry), so
    equal values stay equal and nobody without the key can test a guess."""

    def operate(self, text: str = None, params: dict = None) -> str:
        entity_type = params["entity_type"]
        region = params.get("phone_region") or "US"
        return f"<{entity_type}:{digest(params['key'], entity_type, text, region)[:12]}>"

    def validate(self, params: dict = None) -> None:
        KeyedPseudonym().validate(params)

    def operator_name(self) -> str:
        return "hash"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


PRESIDIO = {"replace": Replace, "mask": Mask, "redact": Redact, "pseudonym": KeyedPseudonym, "hash": KeyedHash}
KEYED = {"pseudonym", "hash"}


OPERATORS = {"replace": Replace, "mask": Mask, "redact": Redact, "pseudonym": KeyedPseudonym, "hash": KeyedHash}
