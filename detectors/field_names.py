"""Fields whose names say their value describes the call or the record, not a person: times, model
names and providers, token counts, latencies, costs. A short value in such a field is not scanned: an
epoch second in `created_at` is no phone number, `OpenAI` in `model_provider` no place.

The rule reads the field's last name only (`observations[0].usage.total_tokens` -> `total_tokens`), in
snake case (`promptTokens` -> `prompt_tokens`); a date of birth is never one of them.
"""

from __future__ import annotations

import functools
import re

# A value longer than this is text, whatever its field is called: it is scanned.
MAX_METADATA_CHARS = 64

_TIME = r"(?:created|updated|modified|deleted|started|ended|finished|completed|expires)(?:_(?:at|on|time))?|" \
        r"(?:.+_)?(?:at|timestamp|ts|time|datetime|date|time_unix_nano|time_ms)"
_MODEL = r"(?:.+_)?(?:model|model_name|model_id|model_version|model_provider|llm_provider)|" \
         r"ls_provider|system_fingerprint|gen_ai_system"
_MEASURE = r"(?:.+_)?(?:tokens|token_count|latency|latency_ms|duration|duration_ms|cost|total_cost|ms|seconds|" \
           r"temperature|top_p|top_k|max_tokens|seed|size_bytes|bytes)"
METADATA_NAME = re.compile(rf"^(?:{_TIME}|{_MODEL}|{_MEASURE})$")
PERSONAL_HINT = re.compile(r"birth|dob|born")
_LAST_NAME = re.compile(r"([^.\[\]]+)(?:\[\d+\])*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=4096)  # a source has few field paths, each met in every record
def metadata_field(field: str) -> bool:
    """Whether the field's name says it holds a time, a model, or a measure of the call."""
    match = _LAST_NAME.search(field)
    if not match:
        return False
    name = _CAMEL.sub("_", match.group(1)).lower().replace("-", "_").replace(" ", "_")
    return bool(METADATA_NAME.match(name)) and not PERSONAL_HINT.search(name)


def skipped_as_metadata(field: str, text: str) -> bool:
    return len(text) <= MAX_METADATA_CHARS and metadata_field(field)
