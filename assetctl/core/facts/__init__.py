"""A machine's facts for self-registration. Public face: `collect` (this machine, by
platform) and `model` (our facts format, osquery's `system_info`, placeholder rules); the
`linux`, `macos` and `windows` collectors parse what each platform reports.
"""
