"""Cryptography the service relies on, each piece from a library made for it:
bcrypt (passwords), PyJWT (access tokens), cryptography's AES-GCM (secrets at
rest and sealed deliveries), pyotp (TOTP). No framework, no I/O."""
