"""Keep every library the detector loads from reaching the network."""

from __future__ import annotations

import functools

import tldextract


@functools.cache
def offline_tldextract() -> tldextract.TLDExtract:
    # The bundled public-suffix snapshot only: no suffix-list download, no cache directory.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def ensure_offline() -> None:
    """Route tldextract.extract (Presidio's email validator calls it) to the offline extractor."""
    extractor = offline_tldextract()
    tldextract.extract = extractor
    try:
        from presidio_analyzer.predefined_recognizers.generic import email_recognizer
    except ImportError:  # an older Presidio layout: the module-level patch above covers it
        return
    email_recognizer.tldextract.extract = extractor
