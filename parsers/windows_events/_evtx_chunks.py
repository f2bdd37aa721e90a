"""Damage in a ``.evtx`` file that the reader may pass over silently, read from its chunk headers alone.

An EVTX file is a 4,096-byte file header, then 64 KiB chunks, each opening with ``ElfChnk\x00`` and a 512-byte
header whose CRC32 (of bytes 0-120 and 128-512) is stored at offset 124, e.g. the first bytes of a chunk::

    45 6c 66 43 68 6e 6b 00  01 00 00 00 00 00 00 00   ElfChnk.........
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from parsers.base import Message, say

FILE_HEADER = 4096
CHUNK_SIZE = 65536
CHUNK_MAGIC = b"ElfChnk\x00"
_EMPTY_CHUNK_HEAD = bytes(512)


def scan_chunks(source: BinaryIO) -> list[tuple[int, Message]]:
    """Damage the reader may pass over silently, from the chunk headers alone: ``(chunk, why)``, ``why`` a
    ``problem.*`` message.

    A file cut inside a chunk, a file with no chunk or only zeroed chunks, a foreign chunk, and a chunk
    whose header checksum (CRC32 of header bytes 0-120 and 128-512, stored at 124; 0 = not set) does not
    match. Single zeroed chunks are not damage: live logs preallocate them, and copies of live logs (the
    dirty reference files) have them between good chunks with every record still readable.
    """
    size = source.seek(0, 2)
    damage: list[tuple[int, Message]] = []
    full, tail = divmod(max(size - FILE_HEADER, 0), CHUNK_SIZE)
    if tail:
        damage.append((full, say("problem.evtx_truncated", bytes=tail, chunk=full)))
    if full == 0:
        damage.append((0, say("problem.evtx_no_chunk")))
    good = 0
    for i in range(full):
        source.seek(FILE_HEADER + i * CHUNK_SIZE)
        head = source.read(512)
        if head == _EMPTY_CHUNK_HEAD:
            continue
        if not head.startswith(CHUNK_MAGIC):
            damage.append((i, say("problem.evtx_chunk_signature", chunk=i)))
            continue
        good += 1
        stored = int.from_bytes(head[124:128], "little")
        if stored and zlib.crc32(head[:120] + head[128:512]) != stored:
            damage.append((i, say("problem.evtx_chunk_checksum", chunk=i)))
    if full and not good:
        damage.append((0, say("problem.evtx_no_good_chunk", n=full)))
    source.seek(0)
    return damage
