"""Prints the 6-digit code an authenticator app shows for a Ward secret, for trying the API
without a phone (the README's walk-through uses it).

Usage: python3 infra/totp.py SECRET          the code of the current 30-second step
       python3 infra/totp.py --next SECRET   the code of the next step, which Ward already accepts
                                             (one step either side counts as clock drift); each
                                             step's code is accepted once, so use this for a
                                             second code within the same 30 seconds

RFC 6238 as Ward applies it: HMAC-SHA1, 6 digits, 30-second steps, the secret in base32.
"""

import base64
import hashlib
import hmac
import struct
import sys
import time


def code(secret, step):
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def main():
    arguments = sys.argv[1:]
    later = 1 if arguments[:1] == ["--next"] else 0
    if later:
        arguments = arguments[1:]
    if len(arguments) != 1:
        sys.exit(__doc__)
    print(code(arguments[0], int(time.time()) // 30 + later))


if __name__ == "__main__":
    main()
