"""Payment card numbers of every current network, checked by IIN range, length and Luhn checksum.

Presidio's CreditCardRecognizer knows the classic prefixes only, so it misses 19-digit Visa,
2-series Mastercard, 12-digit Maestro, Mir, UnionPay and JCB's 15-digit ranges. Numbers of a
network's main lengths score as validated; short Maestro and legacy JCB numbers (12–15 digits,
easily an order number) keep the base score and count only with a context word (card, cc, debit…).
"""

from __future__ import annotations

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult

# (first digits low, high, lengths, strong): ranges compared on as many leading digits as `low` has.
NETWORKS = (
    ("4", "4", (13, 16, 19), True),  # Visa
    ("51", "55", (16,), True), ("2221", "2720", (16,), True),  # Mastercard
    ("34", "34", (15,), True), ("37", "37", (15,), True),  # American Express
    ("6011", "6011", (16, 17, 18, 19), True), ("644", "649", (16, 17, 18, 19), True),
    ("65", "65", (16, 17, 18, 19), True),  # Discover
    ("3528", "3589", (16, 17, 18, 19), True), ("2131", "2131", (15,), False), ("1800", "1800", (15,), False),  # JCB
    ("300", "305", (14, 16, 17, 18, 19), True), ("36", "36", (14, 16, 17, 18, 19), True),
    ("38", "39", (16, 17, 18, 19), True),  # Diners Club
    ("62", "62", (16, 17, 18, 19), True),  # UnionPay
    ("2200", "2204", (16, 17, 18, 19), True),  # Mir
    ("50", "50", tuple(range(12, 20)), False), ("56", "69", tuple(range(12, 20)), False),  # Maestro
)
VALIDATED_SCORE = 0.95
CONTEXT = ["card", "credit", "debit", "cc", "visa", "mastercard", "maestro", "amex", "jcb", "discover",
           "unionpay", "payment", "pan"]


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_network_strength(digits: str) -> bool | None:
    """True: a main format of a network; False: a short Maestro/JCB format; None: no network."""
    found = None
    for low, high, lengths, strong in NETWORKS:
        if len(digits) in lengths and low <= digits[:len(low)] <= high:
            found = found or strong
    return found


class CardNumberRecognizer(PatternRecognizer):
    PATTERNS = [Pattern("card digits, optionally in groups", r"(?<![\d\-.])\d(?:[ \-]?\d){11,18}(?![\d\-]|\.\d)", 0.3)]

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entity="CREDIT_CARD", name="CardNumberRecognizer", patterns=self.PATTERNS,
                         context=CONTEXT, supported_language=supported_language)

    def analyze(self, text, entities, nlp_artifacts=None, regex_flags=None):
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            if result.score >= VALIDATED_SCORE:
                # Presidio drops one of two equal results at random (a set, hashed per process): kept
                # below CreditCardRecognizer's 1.0 (and out of context boosting), its result is the one
                # reported wherever both find the same number.
                result.score = VALIDATED_SCORE
                result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return results

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = "".join(ch for ch in pattern_text if ch.isdigit())
        strength = card_network_strength(digits)
        if strength is None or not luhn_valid(digits):
            return False
        return True if strength else None  # None keeps the base score: context decides
