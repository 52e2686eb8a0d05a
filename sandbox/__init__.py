"""Slack's side, played locally: the Web API stand-in, signed requests, a test clock, and `dibs demo`.

Not part of the production app (`handlers/` never imports it); shipped in the package because
`dibs demo` runs on it without a Slack account.
"""
