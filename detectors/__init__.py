"""Detection: Presidio's AnalyzerEngine on a spaCy pipeline, digests and masked previews."""
