"""A labeled English corpus made with Mimesis, for the quality benchmark: another generator, other name and
place lists and other sentence shapes than the fixtures (Faker) and than the lexicons detection uses,
so it measures detection on text nobody tuned it on. Every row is in the shared corpus format:
{"id", "text", "spans": [{"start", "end", "label"}]}.

    python -m benchmarks.english_set --count 600 --seed 1 > english.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string

# Messages of the kinds an eval set or a trace log holds. {SLOT} is a generated value; its label is
# the corpus label the benchmark scores (LABELS).
TEMPLATES = [
    "Hi team, {PERSON} from the {CITY} office asked me to update the shipping address to {ADDRESS}.",
    "Customer {PERSON} ({EMAIL}) says the refund never arrived. Card on file ends with {CARD}.",
    "Please forward this to {PERSON}.",
    "{PERSON} wrote to us yesterday about the delayed order.",
    "Can you call {FIRST} back on {PHONE}? Free after 3pm.",
    "My name is {PERSON}, I was born on {DOB} and I need to reset my account.",
    "User: hey it's {FIRST}, my email changed to {EMAIL}, can you update it?\nAssistant: Sure, I have updated it.",
    "Payroll correction for {PERSON}: SSN {SSN}, transfer to IBAN {IBAN}.",
    "Login alert: new sign-in for {EMAIL} from {IP} near {CITY}, {STATE}.",
    "Dear {LAST}, thank you for staying with us in {CITY}. Your invoice is attached.",
    "Patient {PERSON}, DOB {DOB}, presented with chest pain. Contact: {PHONE}.",
    "The candidate, {PERSON}, is a {NATIONALITY} citizen currently living in {COUNTRY}.",
    "Ticket #{NUMBER}: {FIRST} {LAST} cannot log in. Last known IP {IP}.",
    "Ship to: {PERSON}, {ADDRESS}, {CITY}. Phone {PHONE}.",
    "Thanks {FIRST}! I'll send the contract to {EMAIL} tonight.",
    "Reminder: {PERSON}'s direct line is {PHONE} and the assistant is {OTHER_PERSON}.",
    "We moved from {CITY} to {OTHER_CITY} last spring, so please change my billing address to {ADDRESS}.",
    "Escalated by {PERSON}. The customer paid with card {CARD} and wants a chargeback.",
    "Best regards,\n{PERSON}\n{PHONE}",
    "summary: {FIRST} asked whether a {NATIONALITY} passport is enough to travel to {COUNTRY}.",
    "Transfer request from {PERSON}: please wire the deposit to {IBAN} before Friday.",
    "Note from support: spoke with {LAST} today, the date of birth on file is {DOB}.",
    "{FIRST}, your verification code was sent to {PHONE}. Do not share it.",
    "Conversation log - user {EMAIL} asked for the store hours in {CITY}.",
    "Hello, this is {PERSON} calling about claim {NUMBER}. You can reach me at {PHONE} or {EMAIL}.",
    "Signed for by {OTHER_PERSON} at {ADDRESS}.",
    "Our {NATIONALITY} customers in {CITY} reported the outage first.",
    "Server {IP} rejected the webhook; the owner {PERSON} has been notified.",
    "Could {FIRST} {LAST} please confirm the SSN {SSN} on the tax form?",
    "Review: great stay, the host {FIRST} met us in {CITY} and drove us to {OTHER_CITY}.",
]
LABELS = {"PERSON": "PERSON", "OTHER_PERSON": "PERSON", "FIRST": "PERSON", "LAST": "PERSON", "CITY": "GPE",
          "OTHER_CITY": "GPE", "STATE": "GPE", "COUNTRY": "GPE", "ADDRESS": "STREET_ADDRESS",
          "EMAIL": "EMAIL_ADDRESS", "PHONE": "PHONE_NUMBER", "CARD": "CREDIT_CARD", "SSN": "US_SSN",
          "IBAN": "IBAN_CODE", "IP": "IP_ADDRESS", "NATIONALITY": "NRP", "DOB": "DATE_TIME", "NUMBER": None}
PHONE_MASKS = ["+1 (###) ###-####", "###-###-####", "(###) ### ####", "+44 20 #### ####", "+61 4## ### ###",
               "+1-###-###-####"]
DATE_FORMATS = ["%B %d, %Y", "%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y", "%d %b %Y"]
_SLOT = re.compile(r"\{([A-Z_]+)\}")


class Values:
    """Generated values, from Mimesis (names, places, emails, cards) and python-stdnum (check digits)."""

    def __init__(self, seed: int):
        from mimesis import Address, Datetime, Internet, Locale, Payment, Person

        self.random = random.Random(seed)
        self.person, self.address = Person(Locale.EN, seed=seed), Address(Locale.EN, seed=seed)
        self.payment, self.internet, self.dates = Payment(seed=seed), Internet(seed=seed), Datetime(seed=seed)

    def value(self, slot: str) -> str:
        r = self.random
        if slot in ("PERSON", "OTHER_PERSON"):
            return self.person.full_name()
        if slot == "FIRST":
            return self.person.first_name()
        if slot == "LAST":
            return self.person.last_name()
        if slot in ("CITY", "OTHER_CITY"):
            return self.address.city()
        if slot == "STATE":
            return self.address.state()
        if slot == "COUNTRY":
            return self.address.country()
        if slot == "ADDRESS":
            return self.address.address()
        if slot == "EMAIL":
            return self.person.email()
        if slot == "PHONE":
            return self.person.telephone(mask=r.choice(PHONE_MASKS))
        if slot == "CARD":
            return self.payment.credit_card_number()
        if slot == "SSN":
            return f"{r.randint(100, 665)}-{r.randint(10, 99)}-{r.randint(1000, 9999)}"
        if slot == "IBAN":
            return iban(r)
        if slot == "IP":
            return self.internet.ip_v4() if r.random() < 0.8 else self.internet.ip_v6()
        if slot == "NATIONALITY":
            return self.person.nationality()
        if slot == "DOB":
            return self.dates.date(start=1940, end=2005).strftime(r.choice(DATE_FORMATS))
        return str(r.randint(10_000, 99_999))


def iban(r: random.Random) -> str:
    from stdnum import iban as stdnum_iban

    country, bban = r.choice([
        ("GB", "".join(r.choices(string.ascii_uppercase, k=4)) + "".join(r.choices(string.digits, k=14))),
        ("DE", "".join(r.choices(string.digits, k=18))),
        ("NL", "".join(r.choices(string.ascii_uppercase, k=4)) + "".join(r.choices(string.digits, k=10)))])
    number = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4)) if r.random() < 0.5 else number


def generate(count: int, seed: int = 1) -> list[dict]:
    values, rows = Values(seed), []
    for n in range(count):
        template = values.random.choice(TEMPLATES)
        text, spans, at = "", [], 0
        for match in _SLOT.finditer(template):
            text += template[at:match.start()]
            value = values.value(match.group(1))
            if LABELS[match.group(1)]:
                spans.append({"start": len(text), "end": len(text) + len(value), "label": LABELS[match.group(1)]})
            text += value
            at = match.end()
        rows.append({"id": f"mimesis-en-{seed}-{n}", "text": text + template[at:], "spans": spans})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for row in generate(args.count, args.seed):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
