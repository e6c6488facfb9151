"""dhscan's own Presidio recognizers, registered through the `dhscan.recognizers` entry-point group
exactly as a third-party package would register one."""
