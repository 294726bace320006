"""The one send pipeline every engine uses (consent, opt-out, quiet hours, caps, outbox)."""
