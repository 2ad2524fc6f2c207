"""Base vs tuned on the val split: loss/perplexity on the owner's replies, style of generated replies against
the owner's real ones, and authorship (would a classifier of the owner's lines take them for the owner's)."""
