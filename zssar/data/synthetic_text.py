"""Class names and text sources of the synthetic dataset, written from each class's composition.

Every sentence is assembled from the same attributes the skeletons are generated from
(limb, motion, posture, tempo, persons), so the text of an unseen class says something true
about its motion. Side words alone barely move a MiniLM embedding ("left" vs "right":
cosine 0.99), so everything except the short class name also names the side by an
anatomical landmark (the heart side vs the liver/writing-hand side).

Every source names the posture and the tempo too (twin classes differ only there; a source
without them would make twins identical — see benchmarks/synthetic_text_overlap.py).

Templates use the person as the grammatical subject, so one template serves a single limb
("the left hand") and both limbs ("both hands") alike.
"""
from __future__ import annotations

from zssar.data.layouts import BODY_PARTS

# -- words for limbs ---------------------------------------------------------------------------
_ARM = dict(region="one arm", kind="an arm gesture")
_LEG = dict(region="one leg", kind="a leg movement")


def _side_words(side: str, **extra) -> dict:
    j = lambda part: f"the {side} {part}"  # noqa: E731
    note = (" on the heart side of the body" if side == "left"
            else " on the liver side of the body")
    return dict(the_hand=j("hand"), the_fist=j("fist"), the_shoulder=j("shoulder"), the_elbow=j("elbow"),
                the_wrist=j("wrist"), the_leg=j("leg"), the_foot=j("foot"), the_hip=j("hip"),
                the_knee=j("knee"), the_ankle=j("ankle"), side_note=note, other="the other", **extra)


LIMB_WORDS = {
    "left_arm": _side_words("left", the_limb="the left arm", it="it", **_ARM),
    "right_arm": _side_words("right", the_limb="the right arm", it="it", **_ARM),
    "both_arms": dict(the_limb="both arms", the_hand="both hands", the_fist="both fists",
                      the_shoulder="both shoulders", the_elbow="both elbows", the_wrist="both wrists",
                      side_note=", moving as mirror images of each other", it="them", other="the",
                      region="both arms together", kind="a two-arm gesture"),
    "left_leg": _side_words("left", the_limb="the left leg", it="it", **_LEG),
    "right_leg": _side_words("right", the_limb="the right leg", it="it", **_LEG),
    "torso": dict(the_limb="the upper body", side_note=", from the waist up to the shoulders", it="it",
                  region="the whole upper body", kind="a movement of the trunk"),
    "head": dict(the_limb="the head", side_note=" on top of the neck", it="it",
                 region="only the head", kind="a small head movement"),
}

POSTURE = {
    "standing": dict(
        clause="standing upright", subject="A standing person",
        sentence="The person stands upright on both feet the whole time.",
        fine="the hips and knees stay straight and the body weight rests on both feet",
        phase=("the person stands upright on both feet", "the person is still standing upright on both feet",
               "the person ends standing upright on both feet"),
        parts=dict(head="The head stays upright, facing forward, and remains still.",
                   hand="The hands hang still beside the thighs.",
                   arm="The arms hang relaxed at the sides of the body.",
                   hip="The hips stay level above the straight legs and remain still.",
                   leg="Both legs stay straight and still, supporting the standing body.",
                   foot="Both feet remain flat on the floor, about shoulder width apart.")),
    "sitting": dict(
        clause="sitting on a chair", subject="A seated person",
        sentence="The person sits on a chair throughout, thighs on the seat and knees bent at a right angle.",
        fine="the pelvis rests on the chair seat with the hips and knees bent at right angles",
        phase=("the person sits on a chair", "the person is still sitting on the chair",
               "the person ends seated on the chair"),
        parts=dict(head="The head stays upright, facing forward, and remains still.",
                   hand="The hands rest still on the lap.",
                   arm="The forearms rest on the thighs.",
                   hip="The hips rest on the chair seat, bent at a right angle, and remain still.",
                   leg="The thighs lie on the seat and the shins hang vertically, staying still.",
                   foot="Both feet rest flat on the floor in front of the chair.")),
}

TEMPO = {
    "fast": dict(adv="quickly", count="several times in quick succession",
                 sentence="The movement is quick and energetic.",
                 fine="each cycle of the movement lasts well under a second",
                 phase=("and starts moving abruptly", "and each repetition is quick and energetic",
                        "and stops abruptly")),
    "slow": dict(adv="slowly", count="a few times at an unhurried pace",
                 sentence="The movement is slow and controlled.",
                 fine="each cycle of the movement takes a couple of seconds",
                 phase=("and starts moving gently", "and each repetition is slow and controlled",
                        "and comes to rest gradually")),
}

# -- words for motions -------------------------------------------------------------------------
# Keys: name, desc, begin, middle, end, fine, medium, parts{part: sentence}. A key suffixed
# `_sitting` or `_fast` replaces the plain key for that posture or tempo.
MOTIONS = {
    "wave": dict(
        name="wave {the_hand} above the head",
        desc="raises {the_hand}{side_note} above the head and sways the forearm from side to side, "
             "as if greeting a friend far away",
        begin="the person lifts {the_hand}{side_note} from beside the body to above the head",
        middle="the person sways the raised forearm from side to side {count}",
        end="the person lowers {the_hand} back down beside the body",
        fine="the person lifts the upper arm at {the_shoulder}{side_note} above shoulder level, keeps "
             "{the_elbow} bent at about a right angle and sways {the_wrist} and fingertips above the head",
        medium="it is held high above the head and waved from side to side",
        parts=dict(hand="{The_hand}{side_note} is held high above the head, palm forward, swaying from side to side.",
                   arm="{The_limb}{side_note} is raised out to the side with the elbow bent upward and the forearm waving.")),
    "circle": dict(
        name="circle {the_limb} out to the side",
        desc="holds {the_limb}{side_note} straight out to the side at shoulder height and draws big circles "
             "in the air with the hand",
        begin="the person lifts {the_limb}{side_note} straight out to the side up to shoulder height",
        middle="the person turns the straight arm at the shoulder so the hand draws circles in the air {count}",
        end="the person brings {the_limb} back down to the side of the body",
        fine="the person rotates the upper arm at {the_shoulder}{side_note} in a cone while {the_elbow} stays "
             "straight, so {the_wrist} and hand trace a circle at shoulder height",
        medium="it is stretched straight out sideways and moves in circles",
        parts=dict(hand="{The_hand}{side_note} traces wide circles at shoulder height, out to the side of the body.",
                   arm="{The_limb}{side_note} is stretched straight out sideways, rotating at the shoulder.")),
    "punch": dict(
        name="punch forward with {the_fist}",
        desc="pulls {the_fist}{side_note} back to the chest and thrusts it straight forward, snapping the elbow "
             "straight like a boxer",
        begin="the person raises {the_fist}{side_note} to a guard position in front of the chest",
        middle="the person jabs {the_fist} straight forward and pulls it back {count}",
        end="the person drops {the_fist} and relaxes the arm back down",
        fine="the person brings the upper arm forward at {the_shoulder}{side_note}, extends {the_elbow} from "
             "tightly bent to straight and drives {the_wrist} and knuckles forward, turning the chest into the punch",
        medium="it is bent at the chest and repeatedly thrust straight forward",
        parts=dict(hand="{The_hand}{side_note} is clenched into a fist that shoots forward from the chest.",
                   arm="{The_limb}{side_note} bends and straightens quickly at the elbow, punching forward.")),
    "raise": dict(
        name="raise {the_limb} straight up",
        desc="lifts {the_limb}{side_note} forward and up with the elbow straight until the hand points at the "
             "ceiling, holds {it} there and then lowers {it}",
        desc_fast="pumps {the_limb}{side_note} straight up above the head and brings {it} down again, three "
                  "times in quick succession like cheering",
        begin="the person starts lifting {the_limb}{side_note} forward from beside the body",
        middle="the person holds {the_limb} straight up above the head, pointing at the ceiling",
        middle_fast="the person pumps {the_limb} up above the head and down again {count}",
        end="the person lowers {the_limb} back down to the side of the body",
        fine="the person swings the upper arm forward and up at {the_shoulder}{side_note} until it is beside "
             "the ear, keeps {the_elbow} straight and points {the_wrist} and fingertips at the ceiling",
        medium="it is raised straight overhead and held there",
        medium_fast="it is pumped straight overhead and down again repeatedly",
        parts=dict(hand="{The_hand}{side_note} goes high above the head, fingers pointing at the ceiling.",
                   arm="{The_limb}{side_note} is lifted straight up beside the head with the elbow straight.")),
    "kick": dict(
        name="kick forward with {the_leg}",
        desc="lifts {the_leg}{side_note} at the hip and snaps the lower leg forward in quick kicks, balancing "
             "on the other foot",
        desc_sitting="straightens {the_leg}{side_note} at the knee to kick the foot forward and up from the chair seat",
        begin="the person shifts the weight onto the other foot and pulls {the_knee}{side_note} up",
        begin_sitting="the person lifts {the_foot}{side_note} slightly off the floor in front of the chair",
        middle="the person snaps the lower leg forward and pulls it back {count}",
        middle_sitting="the person straightens {the_knee} to kick the foot forward {count}",
        end="the person puts {the_foot} back down on the floor beside the other foot",
        end_sitting="the person lets the lower leg drop back until the foot rests on the floor",
        fine="the person bends {the_hip}{side_note} to bring the thigh up, whips {the_knee} from bent to "
             "straight and points {the_ankle} and toes forward",
        fine_sitting="the person keeps the thigh on the seat, extends {the_knee}{side_note} from a right angle "
                     "to nearly straight and lifts {the_ankle} and toes to knee height",
        medium="it lifts at the hip and kicks forward while the other leg supports the body",
        medium_sitting="its lower leg kicks forward and up from the seated position",
        parts=dict(leg="{The_limb}{side_note} kicks forward, the knee snapping from bent to straight.",
                   foot="{The_foot}{side_note} swings forward and up with the toes pointed.",
                   hip="{The_hip} lifts the thigh and the body leans back a little for balance."),
        parts_sitting=dict(leg="{The_limb}{side_note} straightens at the knee while the thigh stays on the seat.",
                           foot="{The_foot}{side_note} swings forward and up to knee height.")),
    "swing": dict(
        name="swing {the_leg} back and forth",
        desc="swings {the_leg}{side_note}, almost straight, forward and backward from the hip like a pendulum, "
             "standing on the other foot",
        desc_sitting="swings the lower part of {the_leg}{side_note} back and forth under the chair, bending and "
                     "straightening the knee",
        begin="the person lifts {the_foot}{side_note} slightly off the floor and starts the leg moving",
        begin_sitting="the person lifts {the_foot}{side_note} off the floor under the chair",
        middle="the person swings the leg forward and backward from the hip {count}",
        middle_sitting="the person swings the shin forward and back from the knee {count}",
        end="the person lets {the_leg} come to rest and puts {the_foot} back on the floor",
        fine="the person rocks the thigh at {the_hip}{side_note} forward and back, keeps {the_knee} slightly "
             "bent and lets {the_ankle} trace an arc near the floor",
        fine_sitting="the person keeps the thigh still on the seat and bends and straightens {the_knee}{side_note}, "
                     "so {the_ankle} swings like a pendulum under the chair",
        medium="it swings like a pendulum from the hip",
        medium_sitting="its shin swings back and forth under the seat",
        parts=dict(leg="{The_limb}{side_note} swings forward and backward from the hip like a pendulum.",
                   foot="{The_foot}{side_note} moves along an arc just above the floor.",
                   hip="{The_hip} rocks the thigh forward and back while the other hip carries the weight."),
        parts_sitting=dict(leg="The shin of {the_limb}{side_note} swings back and forth from the knee.",
                           foot="{The_foot}{side_note} swings back and forth under the chair.")),
    "bend": dict(
        name="bow the upper body forward",
        desc="folds the upper body forward at the waist into a deep bow, pauses with the head low and the arms "
             "hanging towards the floor, and straightens up again",
        begin="the person starts tipping the chest forward from the waist",
        middle="the person holds a deep forward bow with the head lowered and the arms hanging down",
        end="the person rolls the upper body back up to an upright position",
        fine="the person flexes the spine at the waist and mid back, so the neck and head move forward and down "
             "in front of the hips while the shoulders and hands drop towards the knees",
        medium="it folds forward at the waist while the hips stay in place",
        parts=dict(head="The head moves forward and down as the body bows.",
                   arm="The arms hang straight down from the shoulders as the chest tips forward.",
                   hand="The hands drop towards the knees and come back up.",
                   hip="The hips stay in place as the pivot of the bow.")),
    "twist": dict(
        name="twist the upper body from side to side",
        desc="holds the forearms in front of the chest and turns the shoulders around the spine from one side "
             "to the other while the hips keep facing forward",
        begin="the person raises both forearms in front of the chest",
        middle="the person rotates the shoulders and chest about the vertical axis from one side to the other {count}",
        end="the person turns back to face forward and lowers the arms",
        fine="the person rotates the spine between the hips and the shoulders so the shoulder line turns against "
             "the hip line, with both elbows bent at a right angle and the hands in front of the chest",
        medium="it rotates around the spine while the hips and legs stay still",
        parts=dict(head="The head turns along with the shoulders.",
                   arm="Both arms are bent with the forearms held in front of the chest, turning with the shoulders.",
                   hand="The hands are held in front of the chest and swing around with the upper body.",
                   hip="The hips keep facing forward while the chest twists above them.")),
    "nod": dict(
        name="nod the head",
        desc="tips the head forward and lifts it again several times, as if saying yes",
        begin="the person keeps the body still and looks straight ahead",
        middle="the person dips the chin towards the chest and raises it {count}",
        end="the person stops with the head upright again",
        fine="the person flexes the neck so the head moves forward and down and back up, while the shoulders, "
             "spine and all limbs stay still",
        medium="only the head moves, tipping forward and back up on the neck",
        parts=dict(head="The head tips forward and back up repeatedly, nodding.")),
}

# What the action is, in a few words, without the side (the coarse granularity: a mirror pair
# is described alike at this level, and only finer sources name the side)
GIST = {"wave": "waving a hand overhead", "circle": "drawing circles with a straight arm",
        "punch": "punching forward", "raise": "raising an arm overhead", "kick": "kicking a foot forward",
        "swing": "swinging a leg like a pendulum", "bend": "bowing forward", "twist": "twisting the trunk",
        "nod": "nodding"}

# Two-person interactions are written out whole (person A acts, person B reacts).
INTERACTIONS = {
    "handshake": dict(
        name="shake hands with another person",
        desc=["Two people walk towards each other, reach out their right hands, grasp them and shake them "
              "up and down, then let go.",
              "Both persons step forward until they are an arm's length apart and join their writing hands "
              "in a friendly greeting.",
              "The two clasped hands move up and down a few times at waist height between the two bodies.",
              "The greeting is calm and slow; both people stay standing and face each other."],
        coarse=["Two standing people approach each other and greet each other with their hands.",
                "The whole bodies of both persons walk a few steps and then stay still facing each other."],
        medium=["The right arms of both persons, on the liver side, reach forward and meet between them; "
                "their legs step forward first."],
        fine=["Each person walks two steps, flexes the right shoulder to bring the forearm forward at waist "
              "height, bends the right elbow halfway and grips the other's right wrist and hand, shaking them "
              "up and down."],
        begin="the two people walk towards each other",
        middle="they clasp their right hands and shake them up and down",
        end="they let go and lower their arms",
        parts=dict(head="Both heads face the other person and stay upright.",
                   hand="The two right hands clasp and shake up and down between the people.",
                   arm="The right arm of each person reaches forward, elbow half bent; the other arm hangs relaxed.",
                   hip="Both persons' hips move forward a few steps and then stay level.",
                   leg="The legs of both persons take a few walking steps towards each other.",
                   foot="The feet step forward and then stand still, facing the other person.")),
    "push": dict(
        name="push another person with both hands",
        desc=["One person steps towards another and shoves them in the chest with both hands, and the other "
              "person staggers backwards.",
              "The pushing person thrusts both arms straight forward from the chest into the other body.",
              "The person who is pushed leans back with the arms flung out to the sides and takes steps backwards.",
              "It is a sudden, forceful two-person action while both stand."],
        coarse=["Two standing people interact: one forcefully pushes the other, who is moved backwards.",
                "One whole body steps forward while the other whole body is driven back."],
        medium=["Both arms of the first person push straight forward into the chest of the second person, "
                "whose upper body tips back and whose legs step backwards."],
        fine=["The pusher bends both elbows with the hands at chest height and then straightens them, driving "
              "both wrists forward; the other person's spine tilts backwards, the shoulders swing the arms "
              "outwards and the feet step back."],
        begin="one person steps up to the other and brings both hands up to chest height",
        middle="the person straightens both arms and shoves the other in the chest",
        end="the pushed person staggers backwards with the arms out for balance",
        parts=dict(head="The pushed person's head jerks back while the pusher's head stays forward.",
                   hand="Both hands of the pusher press flat against the other person's chest.",
                   arm="The pusher's arms extend forcefully forward; the other person's arms fly out sideways.",
                   hip="The pushed person's hips move backwards as the body is driven back.",
                   leg="The pusher's legs step forward; the pushed person's legs step backwards.",
                   foot="The pushed person's feet stumble back a few steps.")),
    "punch": dict(
        name="punch another person",
        desc=["One person steps towards another and hits them with the right fist; the other person recoils, "
              "leaning the head and upper body back.",
              "The attacker's arm on the liver side of the body shoots forward from the chest towards the "
              "other person's face.",
              "Each blow makes the person who is hit jerk backwards and retreat slightly.",
              "It is a fast, aggressive two-person action while both stand."],
        coarse=["Two standing people interact: one repeatedly punches the other, who flinches backwards.",
                "The attacker's whole body leans into the blows while the other body sways back."],
        medium=["The right arm of the attacker, on the liver side, jabs forward into the other person's head; "
                "the victim's head and trunk tip back."],
        fine=["The attacker raises the right fist to the chest, extends the right elbow to drive the knuckles "
              "forward into the other person; the victim's neck and spine extend backwards with every hit."],
        begin="one person steps up to the other and raises the right fist",
        middle="the person punches the other in the face, and the other jerks backwards",
        end="the attacker pulls the fist back and the other person backs away",
        parts=dict(head="The head of the person who is hit snaps backwards with each punch.",
                   hand="The attacker's right hand is a clenched fist striking forward.",
                   arm="The attacker's right arm bends and straightens quickly at the elbow.",
                   hip="The attacker's hips turn into the punch; the victim's hips shift backwards.",
                   leg="The attacker steps forward; the victim's legs step back slightly.",
                   foot="The feet of both persons stay on the floor apart from small steps.")),
    "kick": dict(
        name="kick another person",
        desc=["One person kicks another with the right leg; the other person doubles over and steps back.",
              "The attacker lifts the leg on the liver side of the body and snaps the foot forward into the "
              "other person's stomach.",
              "The person who is hit bends forward at the waist and retreats a few steps.",
              "It is a fast, aggressive two-person action while both stand."],
        coarse=["Two standing people interact: one kicks the other, who bends over and backs away.",
                "The attacker balances on one foot while the victim's whole body folds and moves back."],
        medium=["The right leg of the attacker, on the liver side, kicks forward into the other person's belly; "
                "the victim's trunk folds forward and the legs step back."],
        fine=["The attacker flexes the right hip, whips the right knee straight and drives the right foot "
              "forward; the victim's spine flexes forward and the feet step backwards."],
        begin="one person faces the other and lifts the right knee",
        middle="the person kicks the other in the stomach, who bends forward in pain",
        end="the attacker puts the foot down and the other person steps back",
        parts=dict(head="The victim's head drops forward as the body doubles over.",
                   hand="The hands of both persons stay near the body.",
                   arm="The arms of both persons hang near the body, moving for balance.",
                   hip="The attacker's right hip lifts the thigh; the victim's hips move back.",
                   leg="The attacker's right leg kicks forward, the knee snapping straight.",
                   foot="The attacker's right foot strikes forward; the victim's feet step backwards.")),
}


# -- assembly ----------------------------------------------------------------------------------
def _pick(table: dict, key: str, spec) -> object:
    """Posture- or tempo-specific variant of a motion text field, falling back to the plain one."""
    for variant in (f"{key}_{spec.posture}", f"{key}_{spec.tempo}"):
        if variant in table:
            return table[variant]
    return table[key]


def _words(spec, cued: bool) -> dict:
    w = dict(LIMB_WORDS[spec.limb])
    if not cued:
        w["side_note"] = ""
    w["count"] = TEMPO[spec.tempo]["count"]
    for k in list(w):  # capitalised variants for sentence starts
        if k.startswith("the_"):
            w["T" + k[1:]] = w[k][0].upper() + w[k][1:]
    return w


def _fill(template: str, spec, cued: bool = True) -> str:
    return template.format(**_words(spec, cued))


def class_name(spec) -> str:
    if spec.persons == 2:
        return INTERACTIONS[spec.motion]["name"]
    base = _fill(MOTIONS[spec.motion]["name"], spec, cued=False)
    if spec.limb == "both_arms":  # the both-arms twins differ in tempo
        return f"{base} {TEMPO[spec.tempo]['adv']}"
    return f"{base} while {'sitting on a chair' if spec.posture == 'sitting' else 'standing'}"


def context_slots(spec) -> dict[str, str]:
    """The body-part and sub-action slots of the class's SkeletonContext prompt, written as a
    per-class (LLM-written) pack would: the moving limb with its side landmark and the motion with
    its tempo. Twin classes differ in posture (the chair of the object slot) or in tempo, mirror
    classes in the landmark (MiniLM hardly tells "left" from "right"), so no two classes share a
    prompt (tests/test_synthetic.py::test_every_class_level_source_tells_every_class_apart)."""
    w, tempo = LIMB_WORDS[spec.limb], TEMPO[spec.tempo]
    # an interaction happens once; a one-person motion is repeated at its tempo
    how = tempo["adv"] if spec.persons == 2 else tempo["count"]
    return {"body_part": f"{w['the_limb']}{w['side_note']}", "sub_action": f"{spec.motion} {how}"}


def _sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _single_sources(spec) -> dict[str, list[str]]:
    m, post, tempo, w = MOTIONS[spec.motion], POSTURE[spec.posture], TEMPO[spec.tempo], LIMB_WORDS[spec.limb]
    f = lambda key: _fill(_pick(m, key, spec), spec)  # noqa: E731
    idle = {"arm": "the other arm stays relaxed", "leg": "the other leg keeps still",
            "both": "the legs and trunk keep still", "axial": "the arms and legs keep still"}
    other = idle["arm"] if "arm" in spec.limb and spec.lateral else idle["leg"] if spec.lateral else \
        idle["both"] if spec.limb == "both_arms" else idle["axial"]
    begin, middle, end = f("begin"), f("middle"), f("end")
    out = {
        "descriptions": [
            _sentence(f"a person {post['clause']} {f('desc')}"),
            _sentence(f"the moving body part is {w['the_limb']}{w['side_note']}, while {other}"),
            f"{tempo['sentence']} {post['sentence']}",
            _sentence(f"first {begin}, then {middle}, and finally {end}"),
        ],
        "spatial_coarse": [
            _sentence(f"{post['subject'].lower()} moves {w['region']} {tempo['adv']} while the rest of the "
                      f"body stays mostly still"),
            _sentence(f"the whole body is {post['clause']}, and the action is {w['kind']}: {GIST[spec.motion]}"),
        ],
        "spatial_medium": [
            _sentence(f"the moving limb is {w['the_limb']}{w['side_note']}: {f('medium')}"),
            _sentence(f"{post['sentence'][:-1]}, and {other}"),
            tempo["sentence"],
        ],
        # every granularity and phase names posture and tempo as well: twin classes differ
        # only there, and a source that leaves them out makes twins indistinguishable
        "spatial_fine": [_sentence(f("fine")), _sentence(f"{post['fine']}, and {tempo['fine']}")],
    }
    for k, (label, text) in enumerate((("at the beginning", begin), ("in the middle of the action", middle),
                                       ("at the end", end))):
        out[f"temporal_{k + 1}"] = [_sentence(f"{label}, {text}"),
                                    _sentence(f"{post['phase'][k]}, moving {w['the_limb']}{w['side_note']}, "
                                              f"{tempo['phase'][k]}")]
    parts = dict(post["parts"])
    active = dict(m.get("parts", {}))
    active.update(m.get(f"parts_{spec.posture}", {}))
    for part in BODY_PARTS:
        if part in active:
            out[f"part_{part}"] = [_sentence(_fill(active[part], spec)), tempo["sentence"]]
        else:
            out[f"part_{part}"] = [_sentence(parts[part])]
    return out


def _pair_sources(spec) -> dict[str, list[str]]:
    t = INTERACTIONS[spec.motion]
    out = {"descriptions": list(t["desc"]), "spatial_coarse": list(t["coarse"]),
           "spatial_medium": list(t["medium"]), "spatial_fine": list(t["fine"]),
           "temporal_1": [_sentence(f"at the beginning, {t['begin']}")],
           "temporal_2": [_sentence(f"in the middle of the action, {t['middle']}")],
           "temporal_3": [_sentence(f"at the end, {t['end']}")]}
    for part in BODY_PARTS:
        out[f"part_{part}"] = [t["parts"][part]]
    return out


SOURCES = ("descriptions", "spatial_coarse", "spatial_medium", "spatial_fine", "temporal_1", "temporal_2",
           "temporal_3") + tuple(f"part_{p}" for p in BODY_PARTS)


def all_sources(specs) -> dict[str, list[list[str]]]:
    """{source: [sentences of class 0, sentences of class 1, ...]} for every source in SOURCES."""
    per_class = [_pair_sources(s) if s.persons == 2 else _single_sources(s) for s in specs]
    return {src: [pc[src] for pc in per_class] for src in SOURCES}
