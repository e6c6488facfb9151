"""Consistent keyed pseudonyms: the same value (normalized as its digest is) gets the same realistic fake
under the same key, in every file and every run, so joins and conversations stay coherent. Formats are
kept: a phone keeps its separators and country code, a card keeps its brand digit and a valid Luhn check
digit, an IBAN its country and valid check digits. Everything is derived from a keyed hash: no state, and
nothing depends on a random generator's version."""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import os
import re

from stdnum import iban, luhn

from detectors.normalize import DEFAULT_PHONE_REGION, normalize

SCHEME = "dhscan-pseudonym-1"  # recorded in evidence: a change of scheme changes every pseudonym
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved (RFC 2606): never a real mailbox
NAMES_USED = 1000  # the most common names of each Census list: realistic, and stable


class Stream:
    """Deterministic bytes from a keyed digest of the value; `pick(n)` is uniform enough for n << 2**32."""

    def __init__(self, key: bytes, entity_type: str, value: str, phone_region: str = DEFAULT_PHONE_REGION):
        normalized = normalize(entity_type, value, phone_region)
        seed = hmac.new(key, f"{SCHEME}\x00{entity_type}\x00{normalized}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()
        self._bytes, self._at = hashlib.shake_256(seed).digest(512), 0

    def pick(self, n: int) -> int:
        if self._at + 4 > len(self._bytes):
            self._bytes, self._at = hashlib.shake_256(self._bytes).digest(512), 0
        number = int.from_bytes(self._bytes[self._at:self._at + 4], "big")
        self._at += 4
        return number % n

    def choice(self, items):
        return items[self.pick(len(items))]


@functools.lru_cache(maxsize=None)
def _census(name: str) -> tuple[str, ...]:
    import names

    path = os.path.join(os.path.dirname(names.__file__), name)
    with open(path, encoding="ascii") as handle:
        return tuple(line.split()[0].capitalize() for _, line in zip(range(NAMES_USED), handle))


def first_names() -> tuple[str, ...]:
    return _census("dist.female.first") + _census("dist.male.first")


def last_names() -> tuple[str, ...]:
    return _census("dist.all.last")


def _same_case(fake: str, value: str) -> str:
    letters = [c for c in value if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return fake.upper()
    if letters and all(c.islower() for c in letters):
        return fake.lower()
    return fake


def person(stream: Stream, value: str) -> str:
    words = value.split()
    fake = [stream.choice(first_names())] + [stream.choice(last_names()) for _ in words[1:2]]
    return _same_case(" ".join(fake), value)


def email(stream: Stream, value: str) -> str:
    local = f"{stream.choice(first_names())}.{stream.choice(last_names())}".lower()
    if stream.pick(2):
        local += str(stream.pick(100))
    return f"{local}@{stream.choice(EMAIL_DOMAINS)}"


def shaped(stream: Stream, value: str, keep: int = 0) -> str:
    """Each digit another digit, each letter another letter of its case, the rest kept; the first `keep`
    characters kept as they are."""
    out = list(value[:keep])
    for ch in value[keep:]:
        if ch.isdigit():
            out.append(str(stream.pick(10)))
        elif ch.isalpha() and ch.isascii():
            letter = chr(ord("a") + stream.pick(26))
            out.append(letter.upper() if ch.isupper() else letter)
        else:
            out.append(ch)
    return "".join(out)


def phone(stream: Stream, value: str) -> str:
    """The country code (`+44`, `0044`) and a national trunk prefix (the leading 0s and 1s: `020`, `1-415`)
    kept, every separator kept; the other digits replaced, the first of them never 0 or 1, so the
    number keeps its shape and length."""
    match = re.match(r"\s*(\+|00)\d{1,3}", value)
    keep = match.end() if match else 0
    while keep < len(value) and not (value[keep].isdigit() and value[keep] not in "01"):
        keep += 1
    fake = shaped(stream, value, keep)
    if keep < len(value):
        fake = fake[:keep] + str(2 + stream.pick(8)) + fake[keep + 1:]
    return fake


def _digit_positions(value: str) -> list[int]:
    return [i for i, ch in enumerate(value) if ch.isdigit()]


def card(stream: Stream, value: str) -> str:
    """The brand digit kept, the others replaced, the last one a valid Luhn check digit again."""
    positions = _digit_positions(value)
    if len(positions) < 2:
        return shaped(stream, value)
    fake = shaped(stream, value, positions[0] + 1)
    digits = "".join(fake[i] for i in positions[:-1])
    last = positions[-1]
    return fake[:last] + luhn.calc_check_digit(digits) + fake[last + 1:]


def iban_code(stream: Stream, value: str) -> str:
    """The country kept, the account part replaced in kind, the check digits computed again."""
    compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if len(compact) < 5 or not compact[:2].isalpha():
        return shaped(stream, value)
    bban = shaped(stream, compact[4:])
    check = iban.calc_check_digits(compact[:2] + "00" + bban)
    fake = iter(compact[:2] + check + bban)
    return "".join(next(fake) if ch.isalnum() else ch for ch in value)


def ssn(stream: Stream, value: str) -> str:
    """A number of valid shape: area 001-899 but 666, group 01-99, serial 0001-9999, separators kept."""
    area = 1 + stream.pick(898)
    area += area >= 666
    digits = f"{area:03d}{1 + stream.pick(99):02d}{1 + stream.pick(9999):04d}"
    if len(_digit_positions(value)) != 9:
        return shaped(stream, value)
    fake = iter(digits)
    return "".join(next(fake) if ch.isdigit() else ch for ch in value)


def ip(stream: Stream, value: str) -> str:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return shaped(stream, value)
    if address.version == 4:
        return ".".join(str(1 + stream.pick(223) if i == 0 else stream.pick(256)) for i in range(4))
    return str(ipaddress.IPv6Address(bytes(stream.pick(256) for _ in range(16))))


BY_TYPE = {"PERSON": person, "EMAIL_ADDRESS": email, "EMAIL": email, "PHONE_NUMBER": phone,
           "CREDIT_CARD": card, "IBAN_CODE": iban_code, "US_SSN": ssn, "IP_ADDRESS": ip}


def pseudonym(key: bytes, entity_type: str, value: str, phone_region: str = DEFAULT_PHONE_REGION) -> str:
    """The pseudonym of `value` under `key`; a type without its own generator keeps the value's shape.
    Values equal once normalized (phone numbers for `phone_region`) get the same one."""
    stream = Stream(key, entity_type, value, phone_region)
    fake = BY_TYPE.get(entity_type, shaped)(stream, value)
    # a generator may, rarely, return the value itself (a one-letter shape): never leave it as it was
    return fake if fake != value else f"<{entity_type}>"
