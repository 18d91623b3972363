"""Network architectures and their training code (needs the ``train`` extra: torch)."""
