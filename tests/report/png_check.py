#!/usr/bin/env python3
"""png_check.py - decode a PNG with the standard library only (zlib) and
describe it, for tests/test_report_render.c.

    png_check.py FILE.png                 prints one line of key=value stats
    png_check.py FILE.png --crop Y0 Y1 OUT.png   writes rows Y0..Y1 (to look at)

Stats: width, height, colors (distinct colours, capped at 100000),
nonwhite (fraction of pixels that are not near-white), bands (how many of
the 20 horizontal bands of the image contain non-white pixels), and
colorful (fraction of pixels whose channels differ by more than 40, i.e.
drawn in colour, not grey).
"""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("png_check: %s: not a PNG" % path)
    pos, idat, w = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise SystemExit("png_check: unsupported PNG (depth %d, type %d)"
                                 % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    rows, prev, off = [], bytearray(stride), 0
    for _ in range(h):
        f = raw[off]
        line = bytearray(raw[off + 1:off + 1 + stride])
        off += 1 + stride
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((a + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def write_png(path, w, rows, bpp):
    ctype = 2 if bpp == 3 else 6
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(t, b):
        return struct.pack(">I", len(b)) + t + b + struct.pack(
            ">I", zlib.crc32(t + b) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, len(rows), 8, ctype, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def main():
    path = sys.argv[1]
    w, h, bpp, rows = decode(path)
    if len(sys.argv) >= 5 and sys.argv[2] == "--crop":
        y0, y1 = int(sys.argv[3]), int(sys.argv[4])
        write_png(sys.argv[5], w, rows[y0:y1], bpp)
        return
    colors, nonwhite, colorful = set(), 0, 0
    band_hit = [0] * 20
    for y in range(0, h, 2):                 # every other row and column: fast
        r = rows[y]
        for x in range(0, w, 2):
            i = x * bpp
            px = (r[i], r[i + 1], r[i + 2])
            if len(colors) < 100000:
                colors.add(px)
            if min(px) < 235:
                nonwhite += 1
                band_hit[min(19, y * 20 // h)] = 1
            if max(px) - min(px) > 40:
                colorful += 1
    total = ((h + 1) // 2) * ((w + 1) // 2)
    print("width=%d height=%d colors=%d nonwhite=%.4f bands=%d colorful=%.4f"
          % (w, h, len(colors), nonwhite / total, sum(band_hit), colorful / total))


if __name__ == "__main__":
    main()
