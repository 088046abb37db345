"""Reader (and writer, for test fixtures) of the original NTU RGB+D `.skeleton` text format.

The format (Kinect v2 SDK dump, CRLF line endings)::

    <frame count>
    per frame:  <body count>
      per body: <bodyID clipedEdges handLeftConfidence handLeftState handRightConfidence
                 handRightState isRestricted leanX leanY trackingState>     (10 fields)
                <joint count>                                                (25)
                25 x <x y z depthX depthY colorX colorY orientW orientX orientY orientZ
                      trackingState>                                         (12 values)

Speed matters (114k files for NTU-120), so the file is never walked line by line in
Python: newline and space positions are found with numpy, Python only steps over the
few structural lines (one per frame, two per body), and the x y z values of all joint
lines are decoded at once by `_decode_decimals`, a vectorised decimal parser that
gives bit-identical results to `float()` (see its docstring). Anything unusual
(exponent notation, extra spaces, a short line) falls back to a careful per-line parse
that also produces the error message naming the file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

NUM_JOINTS = 25
VALUES_PER_JOINT = 12
BODY_INFO_FIELDS = 10
NAME_PATTERN = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


class SkeletonFormatError(ValueError):
    """A `.skeleton` file that does not follow the format; names the file and line."""

    def __init__(self, path: str | Path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class SkeletonFile:
    """Everything the preprocessing needs from one file, one row per body record.

    A *body record* is one body in one frame. Frames with zero bodies have no records.
    """
    name: str                  # file name without extension (S001C001P001R001A001)
    num_frames: int            # frame count from the header (including empty frames)
    body_counts: np.ndarray    # (num_frames,) bodies listed in each frame
    body_ids: list[str]        # (R,) tracking id of each record, as text (64-bit ids)
    record_frame: np.ndarray   # (R,) frame index of each record
    xyz: np.ndarray            # (R, 25, 3) float64 camera-space joint positions (metres)

    @property
    def max_bodies(self) -> int:
        return int(self.body_counts.max(initial=0))


def parse_name(name: str) -> dict[str, int]:
    """`S001C002P003R004A005` -> setup, camera, subject, replication, action (1-based)."""
    m = NAME_PATTERN.fullmatch(name)
    if not m:
        raise ValueError(f"{name!r} is not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
    setup, camera, subject, replication, action = (int(g) for g in m.groups())
    return {"setup": setup, "camera": camera, "subject": subject, "replication": replication,
            "action": action}


def read_skeleton(path: str | Path) -> SkeletonFile:
    path = Path(path)
    data = path.read_bytes()
    return parse_skeleton(data, path)


def parse_skeleton(data: bytes, path: str | Path = "<bytes>") -> SkeletonFile:
    """Parse the bytes of one `.skeleton` file (see the module docstring)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    line_start = np.concatenate(([0], newlines + 1))
    line_end = np.concatenate((newlines, [len(data)]))
    if line_start[-1] == len(data):  # file ends with a newline: no extra empty line
        line_start, line_end = line_start[:-1], line_end[:-1]
    num_lines = len(line_start)
    starts, ends = line_start.tolist(), line_end.tolist()  # plain ints: fast slicing below

    def integer(i: int, what) -> int:
        """Line i as an integer; `what()` describes it, only needed for the error message."""
        try:
            return int(data[starts[i]:ends[i]])
        except IndexError:
            raise SkeletonFormatError(path, num_lines, f"file ends early (truncated?): expected {what()} "
                                                       f"on line {i + 1}") from None
        except ValueError:
            got = data[starts[i]:ends[i]].strip()[:60]
            raise SkeletonFormatError(path, i + 1, f"expected {what()} (an integer), got {got!r}") from None

    num_frames = integer(0, lambda: "the frame count")
    if num_frames < 0:
        raise SkeletonFormatError(path, 1, f"frame count must be >= 0, got {num_frames}")
    body_counts = [0] * num_frames
    body_ids: list[str] = []
    record_frame: list[int] = []
    joint_line0: list[int] = []  # index of the first joint line of each record
    line = 1
    for f in range(num_frames):
        nb = integer(line, lambda: f"the body count of frame {f + 1} of {num_frames}")
        if nb < 0:
            raise SkeletonFormatError(path, line + 1, f"body count must be >= 0, got {nb}")
        body_counts[f] = nb
        line += 1
        for b in range(nb):
            if line >= num_lines:
                raise SkeletonFormatError(path, num_lines, f"file ends early (truncated?): expected the "
                                                           f"info line of body {b + 1} in frame {f + 1}")
            info = data[starts[line]:ends[line]].split()
            if len(info) != BODY_INFO_FIELDS:
                raise SkeletonFormatError(path, line + 1, f"expected a body info line of {BODY_INFO_FIELDS} "
                                                          f"fields, got {len(info)}")
            body_ids.append(info[0].decode("ascii", "replace"))
            nj = integer(line + 1, lambda: f"the joint count of body {b + 1} in frame {f + 1}")
            if nj != NUM_JOINTS:
                raise SkeletonFormatError(path, line + 2, f"expected {NUM_JOINTS} joints, got {nj}")
            if line + 2 + nj > num_lines:
                raise SkeletonFormatError(path, num_lines, f"file ends early (truncated?) inside the joints "
                                                           f"of body {b + 1} in frame {f + 1}")
            record_frame.append(f)
            joint_line0.append(line + 2)
            line += 2 + nj
    for extra in range(line, num_lines):  # only blank lines may follow the last frame
        rest = data[starts[extra]:ends[extra]].strip()
        if rest:
            raise SkeletonFormatError(path, extra + 1, f"unexpected data after the last of {num_frames} "
                                                       f"frames: {rest[:60]!r}")

    joint_lines = (np.asarray(joint_line0, dtype=np.int64)[:, None] + np.arange(NUM_JOINTS)).ravel()
    xyz = _joint_xyz_fast(buf, line_start, line_end, joint_lines)
    if xyz is None:
        xyz = _joint_xyz_careful(data, line_start, line_end, joint_lines, path)
    return SkeletonFile(
        name=Path(str(path)).name.split(".")[0],
        num_frames=num_frames,
        body_counts=np.asarray(body_counts, dtype=np.int64),
        body_ids=body_ids,
        record_frame=np.asarray(record_frame, dtype=np.int64),
        xyz=xyz.reshape(-1, NUM_JOINTS, 3),
    )


def _joint_xyz_fast(buf, line_start, line_end, joint_lines) -> np.ndarray | None:
    """x y z of every joint line, or None when any line is not the plain single-spaced form."""
    if len(joint_lines) == 0:
        return np.zeros((0, 3))
    spaces = np.flatnonzero(buf == 32)
    starts, ends = line_start[joint_lines], line_end[joint_lines]
    first = np.searchsorted(spaces, starts)
    # a well-formed joint line has exactly 11 single spaces and no leading space
    if not np.array_equal(np.searchsorted(spaces, ends) - first, np.full(len(first), VALUES_PER_JOINT - 1)):
        return None
    s0, s1, s2 = spaces[first], spaces[first + 1], spaces[first + 2]
    tok_start = np.stack([starts, s0 + 1, s1 + 1], axis=1).ravel()
    tok_end = np.stack([s0, s1, s2], axis=1).ravel()
    return _decode_decimals(buf, tok_start, tok_end)


_POW10 = 10.0 ** np.arange(23)  # every power here is exact in float64


def _decode_decimals(buf: np.ndarray, tok_start: np.ndarray, tok_end: np.ndarray) -> np.ndarray | None:
    """Vectorised `float()` of tokens like `-0.2059419`; None if a token is not a number.

    Horner's rule runs over character positions, each step on all tokens at once. With at
    most 15 digits the mantissa m is an exact float64 and 10**k an exact power, so m / 10**k
    is one correctly rounded IEEE division, as `float()` is: both give the same double.
    The rare other forms (exponents like `7.29689E-05`, long tokens) go through `float()`.
    """
    n = len(tok_start)
    lengths = tok_end - tok_start
    if n == 0:
        return np.zeros(0)
    width = int(lengths.max())
    padded = np.concatenate([buf, np.zeros(width, dtype=np.uint8)])
    negative = padded[tok_start] == 45  # '-'
    mantissa = np.zeros(n)
    decimals = np.zeros(n, dtype=np.int64)
    digits = np.zeros(n, dtype=np.int64)
    seen_dot = np.zeros(n, dtype=bool)
    other = lengths < 1  # tokens the vectorised rule cannot take
    no_sign = np.zeros(n, dtype=bool)
    for c in range(width):
        ch = padded[tok_start + c]
        live = c < lengths
        d = ch - np.uint8(48)
        is_digit = (d < 10) & live
        is_dot = (ch == 46) & live
        mantissa = np.where(is_digit, mantissa * 10.0 + d, mantissa)
        decimals += is_digit & seen_dot
        digits += is_digit
        other |= (live & ~is_digit & ~is_dot & ~(negative if c == 0 else no_sign)) | (is_dot & seen_dot)
        seen_dot |= is_dot
    other |= (digits < 1) | (digits > 15)
    values = mantissa / _POW10[np.minimum(decimals, 22)]
    values = np.where(negative, -values, values)
    for i in np.flatnonzero(other):
        try:
            values[i] = float(buf[tok_start[i]:tok_end[i]].tobytes())
        except ValueError:
            return None  # the careful parser reports the line
    return values


def _joint_xyz_careful(data, line_start, line_end, joint_lines, path) -> np.ndarray:
    out = np.empty((len(joint_lines), 3))
    for r, i in enumerate(joint_lines):
        fields = data[line_start[i]:line_end[i]].split()
        if len(fields) != VALUES_PER_JOINT:
            raise SkeletonFormatError(path, int(i) + 1, f"expected a joint line of {VALUES_PER_JOINT} values, "
                                                        f"got {len(fields)}")
        try:
            out[r] = [float(v) for v in fields[:3]]
        except ValueError:
            raise SkeletonFormatError(path, int(i) + 1, f"joint x y z are not numbers: "
                                                        f"{b' '.join(fields[:3]).decode(errors='replace')!r}") from None
    return out


# -- writing (test fixtures, benchmarks) --------------------------------------------------
def format_skeleton(frames: Sequence[Sequence[tuple[str, np.ndarray]]], newline: str = "\r\n") -> bytes:
    """Encode frames as `.skeleton` text; each frame is a list of (body_id, (25, 3) xyz).

    The fields this project does not read (depth/colour coordinates, orientations,
    tracking states) are written as plausible constants so the layout is exact.
    """
    out = [str(len(frames))]
    for bodies in frames:
        out.append(str(len(bodies)))
        for body_id, xyz in bodies:
            xyz = np.asarray(xyz, dtype=np.float64)
            if xyz.shape != (NUM_JOINTS, 3):
                raise ValueError(f"body {body_id}: xyz must be ({NUM_JOINTS}, 3), got {xyz.shape}")
            out.append(f"{body_id} 0 1 1 1 1 0 0.01 0.02 2")
            out.append(str(NUM_JOINTS))
            for x, y, z in xyz:
                out.append(f"{x:.7g} {y:.7g} {z:.7g} 250.1 180.2 960.3 540.4 0.1 0.2 0.3 0.9 2")
    return (newline.join(out) + newline).encode("ascii")
