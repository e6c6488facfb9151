"""dhscan's own Presidio recognizers, registered through the `dhscan.recognizers` entry-point group
exactly as a third-party package would register one."""

# A capitalised word, in any script (or a word of a script without case), for names of streets and places.
CAPITALISED_WORD = r"(?:[A-Z]|[^\W\d_a-z])[\w'’.\-]*"
