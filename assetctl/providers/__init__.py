"""Vision-language-model providers behind one Protocol (`base.VisionProvider`).

`registry` holds the named presets; `ollama` and `openai_compat` the two wire protocols.
"""
