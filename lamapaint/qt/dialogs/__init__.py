"""Dialogs: export, model manager, crash recovery."""
