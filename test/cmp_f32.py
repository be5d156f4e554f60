"""Compare two little-endian float32 files: exits 0 when both have the same
length and max |a - b| <= tol. Prints the max difference.
usage: cmp_f32.py A B TOL"""
import array
import sys


def load(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return a


a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
if len(a) != len(b):
    print(f"length {len(a)} != {len(b)}")
    sys.exit(1)
d = max(abs(x - y) for x, y in zip(a, b)) if a else 0.0
print(f"max |delta| {d:.3g} over {len(a)} values (tolerance {tol:g})")
sys.exit(0 if d <= tol else 1)
