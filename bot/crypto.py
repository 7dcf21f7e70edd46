"""Field encryption and keyed hashes for NIK and phone numbers (UU 27/2022, design.md §6)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class FieldCipher:
    """Encrypts personal fields at rest and hashes them for lookup, from one secret key."""

    def __init__(self, secret: bytes):
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"jaga field encryption")))
        self._hash_key = _derive(secret, b"jaga lookup hash")

    def encrypt(self, value: str) -> bytes:
        """The value encrypted and authenticated."""
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        """The value back; raises ValueError if the key is wrong or the data was altered."""
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: wrong JAGA_SECRET_KEY or altered data") from None

    def lookup_hash(self, kind: str, value: str) -> str:
        """A keyed hash to find a row by value without storing the value in clear."""
        message = f"{kind}:{value}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()


def mask_nik(nik: str) -> str:
    """Region and serial only, e.g. `1210********0003`."""
    return nik[:4] + "*" * 8 + nik[12:] if len(nik) == 16 else "*" * len(nik)


def mask_phone(phone: str) -> str:
    """Country/operator prefix and the last three digits, e.g. `+62812*****890`."""
    return phone[:6] + "*" * max(len(phone) - 9, 0) + phone[-3:] if len(phone) > 9 else "***"
