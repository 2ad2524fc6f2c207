"""doppel: a Telegram history -> LoRA-tuned digital twin, as a DVC pipeline. One module per stage."""
