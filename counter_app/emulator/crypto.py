"""SM4 computations (国密 SM4) of card-protocol §4: ECB blocks, cryptogram and MAC.

The library is used block by block with no padding (§4.1): every input here is already a
multiple of 16 bytes and the output has the input's length.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16


def sm4_ecb(key: bytes, data: bytes) -> bytes:
    """SM4 ECB encryption of whole 16-byte blocks; raises ValueError on a partial block."""
    if len(key) != BLOCK or len(data) % BLOCK:
        raise ValueError("SM4 needs a 16-byte key and whole 16-byte blocks")
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def diversify(master_key: bytes, card_id: bytes) -> bytes:
    """卡片密钥分散 (§4.2): ``K_card = SM4_ECB(K_master, 卡识别码)``."""
    return sm4_ecb(master_key, card_id)


def cryptogram(key: bytes, challenge: bytes) -> bytes:
    """认证密文 (§4.3): ``SM4_ECB(K, challenge(8) ‖ 00×8)``."""
    if len(challenge) != 8:
        raise ValueError("the challenge is 8 bytes")
    return sm4_ecb(key, challenge + bytes(8))


def mac(key: bytes, challenge: bytes, data: bytes) -> bytes:
    """MAC (§4.4): ISO/IEC 9797-1 algorithm 1, padding method 2, SM4, IV = challenge ‖ 00×8; 4 bytes."""
    if len(challenge) != 8:
        raise ValueError("the challenge is 8 bytes")
    padded = data + b"\x80" + bytes(-(len(data) + 1) % BLOCK)
    chain = challenge + bytes(8)
    for start in range(0, len(padded), BLOCK):
        block = padded[start : start + BLOCK]
        chain = sm4_ecb(key, bytes(a ^ b for a, b in zip(chain, block, strict=True)))
    return chain[:4]
