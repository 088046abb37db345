"""Kinematics of the synthetic dataset: an NTU-25 body driven by joint angles.

A body is a tree of rigid bones (offsets from the parent joint, in metres). Every frame,
each joint carries a local rotation built from three angles in degrees:

    flex   about the body's left-right axis; swings a *downward* bone forward
           (so a positive flex tilts an *upward* bone, like the spine, backwards)
    abd    about the front-back axis; swings a downward bone outwards on the person's left
    twist  about the bone's own (vertical at rest) axis

Right-side joints are mirrored (abd and twist change sign), so every motion primitive is
written once for a `side` of +1 (left) or -1 (right). Positions come from forward
kinematics, hence bone lengths are constant within a sequence by construction.

Body frame: x = the person's left, y = up, z = the person's forward; the floor is y = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zssar.data.layouts import NTU25

JOINT = {name: i for i, name in enumerate(NTU25.joint_names)}
V = NTU25.num_joints

# Anatomical tree used for forward kinematics (child -> parent). It differs from the GCN
# graph in NTU25.bones only for the hand tip and thumb, which both hang off the hand here.
PARENT = {
    "spine_mid": "spine_base", "spine_shoulder": "spine_mid", "neck": "spine_shoulder", "head": "neck",
    "left_shoulder": "spine_shoulder", "left_elbow": "left_shoulder", "left_wrist": "left_elbow",
    "left_hand": "left_wrist", "left_hand_tip": "left_hand", "left_thumb": "left_hand",
    "right_shoulder": "spine_shoulder", "right_elbow": "right_shoulder", "right_wrist": "right_elbow",
    "right_hand": "right_wrist", "right_hand_tip": "right_hand", "right_thumb": "right_hand",
    "left_hip": "spine_base", "left_knee": "left_hip", "left_ankle": "left_knee", "left_foot": "left_ankle",
    "right_hip": "spine_base", "right_knee": "right_hip", "right_ankle": "right_knee", "right_foot": "right_ankle",
}
# Parents before children (dict order above already is), root first.
FK_ORDER = [JOINT["spine_base"]] + [JOINT[c] for c in PARENT]
FK_PARENT = {JOINT[c]: JOINT[p] for c, p in PARENT.items()}

# Rest offsets of the left side and the midline for a ~1.75 m adult (right side mirrored).
_REST = {
    "spine_mid": (0.0, 0.24, 0.0), "spine_shoulder": (0.0, 0.25, -0.01), "neck": (0.0, 0.07, 0.0),
    "head": (0.0, 0.14, 0.02),
    "left_shoulder": (0.17, -0.03, 0.0), "left_elbow": (0.0, -0.28, 0.0), "left_wrist": (0.0, -0.25, 0.0),
    "left_hand": (0.0, -0.07, 0.0), "left_hand_tip": (0.0, -0.08, 0.0), "left_thumb": (0.0, -0.04, 0.04),
    "left_hip": (0.08, -0.06, 0.0), "left_knee": (0.0, -0.42, 0.0), "left_ankle": (0.0, -0.40, 0.0),
    "left_foot": (0.0, -0.06, 0.12),
}
ANKLE_HEIGHT = 0.07  # ankle joint above the floor when the foot is flat


def rest_offsets() -> np.ndarray:
    """(V, 3) offsets of each joint from its parent at rest (root: zeros)."""
    off = np.zeros((V, 3))
    for name, xyz in _REST.items():
        off[JOINT[name]] = xyz
        if name.startswith("left_"):
            off[JOINT["right_" + name[5:]]] = (-xyz[0], xyz[1], xyz[2])
    return off


# -- rotations ------------------------------------------------------------------------------
def rot_x(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def joint_rotations(angles_deg: np.ndarray) -> np.ndarray:
    """(..., 3) [flex, abd, twist] degrees -> (..., 3, 3) local rotations Rz(abd) Rx(-flex) Ry(twist)."""
    a = np.deg2rad(angles_deg)
    return rot_z(a[..., 1]) @ rot_x(-a[..., 0]) @ rot_y(a[..., 2])


def forward_kinematics(offsets: np.ndarray, angles_deg: np.ndarray, root_rot: np.ndarray,
                       root_pos: np.ndarray) -> np.ndarray:
    """Joint positions (T, V, 3) from offsets (V, 3), angles (T, V, 3), root pose (T, 3, 3), (T, 3)."""
    local = joint_rotations(angles_deg)  # (T, V, 3, 3)
    glob = np.empty_like(local)
    pos = np.empty(angles_deg.shape[:2] + (3,))
    root = FK_ORDER[0]
    glob[:, root] = root_rot @ local[:, root]
    pos[:, root] = root_pos
    for j in FK_ORDER[1:]:
        p = FK_PARENT[j]
        pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
        glob[:, j] = glob[:, p] @ local[:, j]
    return pos


# -- a performer ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subject:
    """Per-subject anthropometry and style (fixed across all of a subject's samples)."""
    offsets: np.ndarray   # (V, 3) bone offsets, metres
    speed: float          # >1 performs faster (shorter sequences)
    amplitude: float      # scales the range of motion
    arm_rest_abd: float   # degrees the relaxed arms hang away from the body
    elbow_rest: float     # degrees the relaxed elbows are bent

    @property
    def standing_root_height(self) -> float:
        o = self.offsets
        return -(o[JOINT["left_hip"], 1] + o[JOINT["left_knee"], 1] + o[JOINT["left_ankle"], 1]) + ANKLE_HEIGHT

    @property
    def sitting_root_height(self) -> float:
        # thighs horizontal on the seat, shins vertical: pelvis at knee height plus the hip offset
        o = self.offsets
        return -(o[JOINT["left_hip"], 1] + o[JOINT["left_ankle"], 1]) + ANKLE_HEIGHT


def make_subject(rng: np.random.Generator) -> Subject:
    """A random adult: overall size, per-segment proportions (left/right symmetric), style."""
    off = rest_offsets() * rng.uniform(0.88, 1.10)
    for left in ("left_shoulder", "left_elbow", "left_wrist", "left_hip", "left_knee", "left_ankle"):
        scale = rng.normal(1.0, 0.04)
        off[JOINT[left]] *= scale
        off[JOINT["right_" + left[5:]]] *= scale
    for mid in ("spine_mid", "spine_shoulder", "neck", "head"):
        off[JOINT[mid]] *= rng.normal(1.0, 0.04)
    return Subject(offsets=off, speed=float(rng.uniform(0.8, 1.2)), amplitude=float(rng.uniform(0.85, 1.15)),
                   arm_rest_abd=float(rng.uniform(4, 12)), elbow_rest=float(rng.uniform(5, 20)))


# -- time profiles ------------------------------------------------------------------------------
def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class Timing:
    """Normalised time of one sequence: a start phase [0, a], a middle [a, b], an end [b, 1].

    `env` rises from rest into the action during the start phase and returns at the end,
    which is what the temporal_1/2/3 text sources describe.
    """
    t: np.ndarray
    a: float
    b: float
    phase: float

    @property
    def env(self) -> np.ndarray:
        return smoothstep(self.t / self.a) * smoothstep((1 - self.t) / (1 - self.b))

    @property
    def middle(self) -> np.ndarray:
        """Position inside the middle phase, 0..1 (clipped outside it)."""
        return np.clip((self.t - self.a) / (self.b - self.a), 0, 1)

    def osc(self, cycles: float) -> np.ndarray:
        """A sine that runs `cycles` periods over the middle phase, gated by the envelope."""
        return np.sin(2 * np.pi * cycles * self.middle + self.phase) * self.env

    def pulses(self, count: float, sharpness: float = 3.0) -> np.ndarray:
        """`count` quick 0->1->0 strikes over the middle phase (punches, kicks, nods)."""
        inside = (self.middle > 0) & (self.middle < 1)
        return (0.5 - 0.5 * np.cos(2 * np.pi * count * self.middle)) ** sharpness * inside

    def ramp(self, start: float, end: float) -> np.ndarray:
        """0 before `start`, 1 after `end` (normalised time), smooth in between."""
        return smoothstep((self.t - start) / (end - start))


class Pose:
    """Per-frame joint angles and root placement of one body, filled by motion primitives."""

    def __init__(self, num_frames: int, subject: Subject, posture: str):
        self.angles = np.zeros((num_frames, V, 3))
        self.forward = np.zeros(num_frames)   # root displacement along the body's forward axis, m
        self.lateral = np.zeros(num_frames)   # ... along the body's left axis, m
        self.subject = subject
        self.posture = posture
        self.height = np.full(num_frames, subject.sitting_root_height if posture == "sitting"
                              else subject.standing_root_height)

    def rotate(self, joint: str, side: int = 1, flex=0.0, abd=0.0, twist=0.0) -> None:
        """Add angles to `joint` ('shoulder' + side -> left/right_shoulder; midline names as is)."""
        name = joint if joint in JOINT else ("left_" if side > 0 else "right_") + joint
        j = JOINT[name]
        self.angles[:, j, 0] += flex
        self.angles[:, j, 1] += side * np.asarray(abd) if joint not in JOINT else abd
        self.angles[:, j, 2] += side * np.asarray(twist) if joint not in JOINT else twist

    def lean_forward(self, deg, at: str = "spine_mid") -> None:
        self.rotate(at, flex=-np.asarray(deg))  # spine bones point up: forward lean is negative flex

    def drive(self, joint: str, side: int, weight, flex=0.0, abd=0.0, twist=0.0) -> None:
        """Blend `joint` from its current angles towards a target pose with per-frame `weight` 0..1."""
        name = joint if joint in JOINT else ("left_" if side > 0 else "right_") + joint
        j = JOINT[name]
        sign = 1 if joint in JOINT else side
        target = np.stack(np.broadcast_arrays(flex, sign * np.asarray(abd), sign * np.asarray(twist),
                                              np.zeros(len(self.forward)))[:3], -1)
        w = np.asarray(weight, dtype=float).reshape(-1, 1)
        self.angles[:, j] = (1 - w) * self.angles[:, j] + w * target


# -- motion primitives ------------------------------------------------------------------------
# Each primitive moves the limb on `side` (+1 left, -1 right) of a Pose; `amp` scales the
# range of motion (subject style), `fast` picks the tempo. Angles in degrees.

def relaxed(pose: Pose, tm: Timing, rng: np.random.Generator) -> None:
    """The resting body every action starts from: arms relaxed, legs standing or seated, idle sway."""
    s = pose.subject
    sway = lambda amp: amp * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * tm.t + rng.uniform(0, 2 * np.pi))
    for side in (1, -1):
        if pose.posture == "sitting":  # hands resting on the thighs
            pose.rotate("shoulder", side, flex=25 + sway(2), abd=s.arm_rest_abd)
            pose.rotate("elbow", side, flex=50 + s.elbow_rest)
            pose.rotate("hip", side, flex=90, abd=rng.uniform(3, 10))
            pose.rotate("knee", side, flex=-90 + rng.normal(0, 3))
        else:
            pose.rotate("shoulder", side, flex=sway(3), abd=s.arm_rest_abd + sway(1.5))
            pose.rotate("elbow", side, flex=s.elbow_rest)
            pose.rotate("hip", side, abd=rng.uniform(1, 5))
            pose.rotate("knee", side, flex=-rng.uniform(0, 5))
    pose.rotate("spine_mid", flex=sway(1.5), abd=sway(1.5), twist=sway(2))
    pose.rotate("neck", flex=sway(3), abd=sway(2), twist=sway(4))


def wave(pose, side, tm, amp, fast, rng):
    """Hand above the head, forearm swaying from side to side."""
    w = tm.env
    pose.drive("shoulder", side, w, flex=10, abd=110, twist=90)
    pose.drive("elbow", side, w, flex=90 + 35 * amp * tm.osc(3.5 if fast else 1.5))


def circle(pose, side, tm, amp, fast, rng):
    """Straight arm held out to the side drawing circles."""
    angle = 2 * np.pi * (4 if fast else 2) * tm.middle + tm.phase
    pose.drive("shoulder", side, tm.env, flex=30 * amp * np.sin(angle), abd=85 + 30 * amp * np.cos(angle))
    pose.drive("elbow", side, tm.env, flex=5)


def punch(pose, side, tm, amp, fast, rng):
    """Fist guarded at the chest, thrust straight forward (elbow extension) a few times."""
    p = tm.pulses(3 if fast else 2)
    pose.drive("shoulder", side, tm.env, flex=50 + 40 * p, abd=15 - 10 * p)
    pose.drive("elbow", side, tm.env, flex=120 - 110 * p * min(amp, 1.0))
    pose.rotate("spine_mid", twist=-side * 12 * p)  # the punching shoulder comes forward


def raise_arm(pose, side, tm, amp, fast, rng):
    """Straight arm lifted forward and up to point at the ceiling; slow: held, fast: three lifts."""
    w = tm.env * (0.5 - 0.5 * np.cos(2 * np.pi * 3 * tm.middle)) if fast else tm.env
    pose.drive("shoulder", side, w, flex=165 * min(amp, 1.05), abd=10)
    pose.drive("elbow", side, w, flex=5)


def kick(pose, side, tm, amp, fast, rng):
    """Standing: thigh lifted and lower leg snapped forward. Sitting: knee straightened from the chair."""
    p = tm.pulses(2 if fast else 1, sharpness=1.5)
    if pose.posture == "sitting":
        pose.rotate("knee", side, flex=80 * amp * p)
        pose.rotate("hip", side, flex=10 * p)
    else:
        pose.rotate("hip", side, flex=75 * amp * p)
        pose.rotate("knee", side, flex=-70 * np.sin(np.pi * p))  # chamber, extend, chamber
        pose.rotate("knee", -side, flex=-8 * p)                 # the standing leg gives a little
        pose.lean_forward(-8 * p)                                # leaning back for balance


def swing(pose, side, tm, amp, fast, rng):
    """Leg swung back and forth like a pendulum (standing) or the shin swung under the chair."""
    o = tm.osc(3.5 if fast else 2)
    if pose.posture == "sitting":
        pose.rotate("knee", side, flex=(25 + 30 * amp * o) * tm.env)
    else:
        pose.rotate("hip", side, flex=35 * amp * o)
        pose.rotate("knee", side, flex=-10 * tm.env - 10 * (o + tm.env))


def bend(pose, side, tm, amp, fast, rng):
    """Bow: the upper body folds forward, holds, comes back up; arms hang towards the floor."""
    deg = (40 if pose.posture == "sitting" else 60) * amp * tm.env
    pose.lean_forward(0.75 * deg)
    pose.lean_forward(0.25 * deg, at="spine_shoulder")
    pose.rotate("neck", flex=0.3 * deg)  # keeps looking roughly ahead
    for s in (1, -1):
        pose.rotate("shoulder", s, flex=0.9 * deg)  # gravity keeps the arms vertical


def twist(pose, side, tm, amp, fast, rng):
    """Upper body rotated about the vertical axis from one side to the other, forearms in front."""
    o = tm.osc(3 if fast else 2)
    pose.rotate("spine_mid", twist=35 * amp * o)
    pose.rotate("spine_shoulder", twist=10 * amp * o)
    for s in (1, -1):
        pose.drive("shoulder", s, tm.env, flex=35, abd=20)
        pose.drive("elbow", s, tm.env, flex=85)


def nod(pose, side, tm, amp, fast, rng):
    """Head dipped forward and back up, repeatedly."""
    pose.lean_forward(28 * amp * tm.pulses(3 if fast else 2, sharpness=1.0), at="neck")


PRIMITIVES = {"wave": wave, "circle": circle, "punch": punch, "raise": raise_arm, "kick": kick,
              "swing": swing, "bend": bend, "twist": twist, "nod": nod}
# Start/end phase boundaries per motion (held motions have longer start phases).
PHASES = {"raise": (0.3, 0.72), "bend": (0.3, 0.7)}
LIMB_SIDES = {"left_arm": (1,), "right_arm": (-1,), "both_arms": (1, -1), "left_leg": (1,),
              "right_leg": (-1,), "torso": (1,), "head": (1,)}


# -- two-person interactions ------------------------------------------------------------------
# Person A acts with its right side, person B reacts. `gap` is the initial distance between
# the two pelvises; `forward` moves a body along its own facing direction.

def _walk(pose: Pose, weight: np.ndarray, steps: float, t: np.ndarray) -> None:
    """Alternating hip/knee flexion while the root moves (a few steps)."""
    g = np.sin(np.pi * steps * t) * weight
    for s in (1, -1):
        pose.rotate("hip", s, flex=20 * s * g)
        pose.rotate("knee", s, flex=-15 * np.abs(g) * (s * g > 0))


def handshake(a: Pose, b: Pose, tm: Timing, amp: float, rng) -> float:
    approach = tm.ramp(0.02, 0.32)
    for p in (a, b):
        p.forward += 0.32 * approach
        _walk(p, (approach > 0) * (approach < 1), 4, tm.t)
        reach = tm.ramp(0.28, 0.42) * (1 - tm.ramp(0.8, 0.95))
        shake = 8 * np.sin(2 * np.pi * 3 * tm.ramp(0.42, 0.8))
        p.drive("shoulder", -1, reach, flex=45 + shake, abd=-12)
        p.drive("elbow", -1, reach, flex=45)
    return 1.55


def push(a: Pose, b: Pose, tm: Timing, amp: float, rng) -> float:
    approach = tm.ramp(0.02, 0.3)
    a.forward += 0.35 * approach
    _walk(a, (approach > 0) * (approach < 1), 3, tm.t)
    arms = tm.ramp(0.28, 0.42) * (1 - tm.ramp(0.68, 0.88))
    thrust = tm.ramp(0.42, 0.5)
    for s in (1, -1):
        a.drive("shoulder", s, arms, flex=80, abd=12)
        a.drive("elbow", s, arms, flex=80 - 65 * thrust)
    hit = tm.ramp(0.47, 0.62)
    b.forward -= 0.45 * amp * hit
    _walk(b, (hit > 0) * (hit < 1), 2, tm.t)
    b.lean_forward(-14 * hit * (1 - tm.ramp(0.75, 0.95)))
    for s in (1, -1):
        b.rotate("shoulder", s, abd=30 * hit * (1 - tm.ramp(0.75, 0.95)))
    return 1.45


def punch_other(a: Pose, b: Pose, tm: Timing, amp: float, rng) -> float:
    approach = tm.ramp(0.02, 0.22)
    a.forward += 0.2 * approach
    _walk(a, (approach > 0) * (approach < 1), 2, tm.t)
    punch(a, -1, tm, amp, True, rng)
    hit = tm.pulses(3)
    b.lean_forward(-15 * hit)
    b.lean_forward(-15 * hit, at="neck")
    b.forward -= 0.12 * tm.ramp(0.3, 0.8)
    return 1.15


def kick_other(a: Pose, b: Pose, tm: Timing, amp: float, rng) -> float:
    kick(a, -1, tm, amp, True, rng)
    hit = tm.pulses(2, sharpness=1.5)
    b.lean_forward(25 * hit)  # doubles over
    b.forward -= 0.3 * tm.ramp(0.35, 0.8)
    _walk(b, tm.ramp(0.35, 0.5) * (1 - tm.ramp(0.65, 0.8)), 2, tm.t)
    return 1.2


INTERACTIONS = {"handshake": handshake, "push": push, "punch": punch_other, "kick": kick_other}


# -- a whole sequence -------------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """Camera placement: yaw about the vertical axis around the performers, height, distance."""
    yaw_deg: float
    pitch_deg: float
    height: float
    distance: float

    @property
    def rotation(self) -> np.ndarray:
        # yaw pi turns the stage around so a performer facing +z faces the camera
        return rot_x(np.deg2rad(self.pitch_deg)) @ rot_y(np.pi + np.deg2rad(self.yaw_deg))

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Stage coordinates (..., 3) -> camera coordinates (camera looks along +z, y up)."""
        return x @ self.rotation.T + np.array([0.0, -self.height, self.distance])


def perform(action, subjects: list[Subject], num_frames: int, view: View, rng: np.random.Generator,
            jitter: float) -> np.ndarray:
    """Joints (3, T, 25, 2) in camera coordinates for an `action` (limb, motion, posture, tempo,
    persons); one-person actions leave the second body at zero."""
    t = np.linspace(0.0, 1.0, num_frames)
    a, b = PHASES.get(action.motion, (0.2, 0.82))
    tm = Timing(t, a + rng.uniform(-0.04, 0.04), b + rng.uniform(-0.04, 0.04), rng.uniform(-0.3, 0.3))
    fast = action.tempo == "fast"
    poses = [Pose(num_frames, s, action.posture) for s in subjects[:action.persons]]
    for p in poses:
        relaxed(p, tm, rng)
    amp = subjects[0].amplitude
    if action.persons == 1:
        for side in LIMB_SIDES[action.limb]:
            PRIMITIVES[action.motion](poses[0], side, tm, amp, fast, rng)
        placements = [(rng.normal(0, 0.1), rng.normal(0, 0.1), np.deg2rad(rng.normal(0, 8)))]
    else:
        gap = INTERACTIONS[action.motion](poses[0], poses[1], tm, amp, rng) + rng.normal(0, 0.05)
        z0 = rng.normal(0, 0.1)
        placements = [(-gap / 2, z0, np.pi / 2 + np.deg2rad(rng.normal(0, 5))),
                      (gap / 2, z0, -np.pi / 2 + np.deg2rad(rng.normal(0, 5)))]
    out = np.zeros((3, num_frames, V, 2), dtype=np.float32)
    for m, (pose, (x0, z0, facing)) in enumerate(zip(poses, placements)):
        face = rot_y(np.array(facing))
        local = np.stack([pose.lateral, pose.height, pose.forward], -1)  # body frame root offset
        stage = np.array([x0, 0.0, z0]) + local @ face.T
        root_rot = np.broadcast_to(view.rotation @ face, (num_frames, 3, 3))
        xyz = forward_kinematics(pose.subject.offsets, pose.angles, root_rot, view.transform(stage))
        if jitter > 0:
            xyz = xyz + rng.normal(0, jitter, xyz.shape)
        out[..., m] = xyz.transpose(2, 0, 1)
    return out
