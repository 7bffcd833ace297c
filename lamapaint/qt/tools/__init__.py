"""Canvas tools: each turns pointer events into Document calls (or view changes, for the hand)."""
