"""Assertions shared by the plugin scenarios."""
from harness import Failure


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


def in_order(lines, wanted, where):
    """Each wanted line appears, in this order (other lines may interleave)."""
    i = 0
    for line in lines:
        if i < len(wanted) and line.strip() == wanted[i]:
            i += 1
    expect(i == len(wanted), f"{where}: expected in order {wanted}, "
           f"missing from {wanted[i] if i < len(wanted) else ''!r}")
