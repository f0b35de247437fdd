"""Vision-language-model providers behind one Protocol (`base.VisionProvider`).

`presets` names the servers (base URL and protocol), `registry` maps each protocol (kind) to
its class: `ollama` and `openai_compat`.
"""
