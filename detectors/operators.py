"""Redaction operators, per entity type: presidio-anonymizer's `replace`, `mask` and `redact`, and two keyed
ones of its kind (`pseudonym`, `hash`, in detectors/keyed_operators.py). Config and worklists name them
here; presidio-anonymizer (which imports the analyzer and spaCy) is loaded only when one runs.

    redact:
      operators:
        EMAIL_ADDRESS: {type: pseudonym}
        PHONE_NUMBER: {type: mask, masking_char: "#", chars_to_mask: 6, from_end: true}
        DEFAULT: {type: replace}          # <ENTITY_TYPE>
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT = "DEFAULT"
KEYED = {"pseudonym", "hash"}  # operators given the run's key


class OperatorSpec(BaseModel):
    """One entity type's operator; the parameters are presidio-anonymizer's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["replace", "mask", "redact", "pseudonym", "hash"]
    new_value: str | None = None  # replace: default `<ENTITY_TYPE>`
    masking_char: str = Field("*", min_length=1, max_length=1)
    chars_to_mask: int | None = Field(None, ge=0)  # mask: default every character
    from_end: bool = False

    @model_validator(mode="after")
    def _params_fit(self):
        if self.new_value is not None and self.type != "replace":
            raise ValueError(f"new_value belongs to replace, not {self.type}")
        if self.chars_to_mask is not None and self.type != "mask":
            raise ValueError(f"chars_to_mask belongs to mask, not {self.type}")
        return self

    def params(self, value: str) -> dict:
        if self.type == "replace":
            return {"new_value": self.new_value} if self.new_value else {}
        if self.type == "mask":
            return {"masking_char": self.masking_char, "from_end": self.from_end,
                    "chars_to_mask": len(value) if self.chars_to_mask is None else self.chars_to_mask}
        return {}

    def described(self) -> str:
        return self.type if self.type != "replace" or not self.new_value else "replace (fixed text)"


def operator_row(spec: OperatorSpec) -> dict:
    """An operator as a worklist row records it: its type and the parameters given."""
    return {"type": spec.type, **spec.model_dump(exclude_defaults=True, exclude={"type"})}


def default_operators() -> dict[str, OperatorSpec]:
    return {DEFAULT: OperatorSpec(type="replace")}


class RedactionConfig(BaseModel):
    """The `redact:` section of a config file, and a policy rule's `operators:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operators: dict[str, OperatorSpec] = Field(default_factory=default_operators)


class Redactor:
    """The replacement for each (entity type, value), with the operator configured for the type (or
    DEFAULT's); computed once per distinct value."""

    def __init__(self, operators: dict[str, OperatorSpec], key: bytes, phone_region: str = "US"):
        self.operators = {DEFAULT: OperatorSpec(type="replace"), **operators}
        self.key, self.phone_region = key, phone_region
        self._instances: dict | None = None
        self._done: dict[tuple[str, str], str] = {}

    def spec(self, entity_type: str) -> OperatorSpec:
        return self.operators.get(entity_type) or self.operators[DEFAULT]

    def replacement(self, entity_type: str, value: str) -> str:
        done = self._done.get((entity_type, value))
        if done is None:
            spec = self.spec(entity_type)
            params = {**spec.params(value), "entity_type": entity_type}
            if spec.type in KEYED:
                params.update(key=self.key, phone_region=self.phone_region)
            if self._instances is None:
                from detectors.keyed_operators import OPERATORS

                self._instances = {name: cls() for name, cls in OPERATORS.items()}
            done = self._done[(entity_type, value)] = self._instances[spec.type].operate(value, params)
        return done

    def described(self, entity_types) -> dict[str, str]:
        """Operator per type, as evidence records it."""
        return {t: self.spec(t).described() for t in sorted(entity_types)}

