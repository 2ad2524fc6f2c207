"""LoRA training internals: data packing, the packed forward pass, hardware/FLOP accounting, resume state, the loop."""
