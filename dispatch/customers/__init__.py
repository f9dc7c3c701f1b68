"""The customer's own channel: OTP sign-in and sessions, self-activation, fault reports, visit
tracking, bill confirmation; plus the public (no account) look-ups behind the unit's QR code."""
