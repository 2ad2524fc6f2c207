"""`doppel export`: the twin in the formats other runtimes load (`command` is the CLI).

- `litgpt_dir`: a merged litgpt checkpoint dir (`litgpt chat` / `generate` / `serve`), with the prompt style of
  `prompt_style`.
- `hf`: a merged Hugging Face model dir (transformers, vLLM, llama.cpp's convert_hf_to_gguf); `hf_config` says
  which HF architecture a base is and writes its config.json.
- `peft`: the LoRA alone as a PEFT adapter for a Llama/Mistral/Qwen base (vLLM `--lora-modules`, Ollama
  `ADAPTER`, llama.cpp's convert_lora_to_gguf).
- `weights`: the merge (the twin's own arithmetic) and the litgpt -> HF key mapping (litgpt's functions).
- `template` + `tokenizer_files`: every output's tokenizer carries a chat template that renders OpenAI-style
  messages into exactly the prompt the twin was trained on.
"""
