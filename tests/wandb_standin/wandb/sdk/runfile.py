"""Writes a run file as wandb's offline mode does (run-ID.wandb): LevelDB
log framing (32 KiB blocks, IEEE CRC-32 over type+data) around protobuf
`Record` messages, encoded by hand. Written for sweep's tests from the
format facts the team documented; only the fields sweep reads."""
import json
import struct
import zlib

BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def _varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def f_int(field, n):
    return _key(field, 0) + _varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return _key(field, 2) + _varint(len(data)) + data


def item(key, value):
    """HistoryItem / SummaryItem / ConfigItem: key = 1, value_json = 16."""
    return f_bytes(1, key) + f_bytes(16, json.dumps(value))


def record(num, field, body):
    return f_int(1, num) + f_bytes(field, body)


class Writer:
    """Buffers whole 32 KiB blocks and writes them when full or at close,
    as both wandb backends do."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.buf = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
        self.num = 0

    def add(self, field, body):
        self.num += 1
        data = record(self.num, field, body)
        first = True
        while True:
            left = BLOCK - len(self.buf) % BLOCK
            if left < 7:
                self.buf += b"\0" * left
                left = BLOCK
            take = min(left - 7, len(data))
            last = take == len(data)
            kind = (FULL if last else FIRST) if first else (LAST if last else MIDDLE)
            frag = data[:take]
            crc = zlib.crc32(bytes([kind]) + frag) & 0xFFFFFFFF
            self.buf += struct.pack("<IHB", crc, take, kind) + frag
            data = data[take:]
            first = False
            full = len(self.buf) // BLOCK * BLOCK
            if full:
                self.f.write(self.buf[:full])
                self.f.flush()
                del self.buf[:full]
            if last:
                return

    def close(self):
        self.f.write(self.buf)
        self.f.close()
