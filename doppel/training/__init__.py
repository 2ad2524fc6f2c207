"""LoRA training internals: data (encoding, packing, the data order), packed (the packed forward pass), lora
(the model and optimizer), hardware (precision, Fabric, FLOP accounting), schedule, state (resume), report
(dvclive, the summary) and loop (the run: set up, resume, fit, save)."""
