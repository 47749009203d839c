"""Every threshold of the signals over time in one place (units in the names; sources in docs/signals.md)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalConfig:
    """Every threshold in one place (units in the names; sources in docs/signals.md)."""

    # Eye closure: closure = (1 - open/open_level) / (1 - closed_ratio), clipped to [0, 1], per eye,
    # then averaged; open_level = a running percentile of the person's lid gap, blended with a prior.
    open_percentile: float = 90.0
    open_window_s: float = 60.0
    open_prior_weight_s: float = 10.0   # the prior (baseline) counts as this many seconds of data
    open_recent_s: float = 0.5          # ... and the median of this recent span, if higher, wins
    closed_ratio: float = 0.2           # lid gap of a shut eye / open lid gap, on MediaPipe meshes
    blink_ref_s: float = 1.0            # blinks are measured against the lid gap (80th percentile)
    blink_ref_floor: float = 0.6        # ... of the past second outside blinks, at least this x the open level
    blink_on: float = 0.5               # closure entering "closed"
    blink_off: float = 0.35             # closure leaving "closed" (hysteresis)
    reopen_max: float = 0.6             # ... and the closure against the open level must be this low
    # Blinks: dips of the blink closure (against the lids' level of the last second, both eyes
    # averaged) that rise at least blink_prominence above their own left base (the lowest
    # closure of the blink_base_s before) and fall back below half of that rise; the onset and
    # end are the half-rise crossings. Once blink_personal_n blinks are known, the threshold
    # is blink_rel x the median rise of the person's last blink_memory blinks, kept within
    # [blink_min_prominence, blink_max_prominence] (population prior until then).
    blink_prominence: float = 0.35
    blink_rel: float = 0.5
    blink_min_prominence: float = 0.28
    blink_max_prominence: float = 0.45
    blink_base_s: float = 0.3
    blink_personal_n: int = 3
    blink_memory: int = 20
    # One eye counts as closed in a frame when its closure reaches eye_closed_rel x that eye's
    # typical blink peak (median of the person's last blink_memory blinks; eye_closed_prior
    # until blink_personal_n are known), and at least eye_closed_min. A blink is complete when
    # both eyes were closed at once.
    eye_closed_rel: float = 0.52
    eye_closed_prior: float = 0.8
    eye_closed_min: float = 0.3
    blink_max_s: float = 0.5            # longer closures are slow blinks ...
    closure_min_s: float = 1.0          # ... and from this long on, eye closures
    perclos_closure: float = 0.8        # PERCLOS counts time with closure >= this (P80)
    # Yawn: mouth aspect ratio (inner lips) above yawn_on for at least yawn_min_s.
    yawn_on: float = 0.6
    yawn_off: float = 0.45
    yawn_min_s: float = 1.5
    # Look-away: gaze (or head) off the screen for at least look_away_min_s; shorter returns merged.
    look_away_min_s: float = 1.0
    merge_gap_s: float = 0.3
    head_off_yaw: float = 40.0          # head alone turned this far is off screen whatever the eyes do
    face_absent_min_s: float = 0.5
    # Without a calibration (and without an explicit ScreenCone), "on the screen" is relative to
    # the person's usual gaze: the weighted median gaze of the well-seen open-eyed frames of the
    # last gaze_window_s (signals/gaze_ref.py); on the screen = within gaze_rel_yaw either side,
    # gaze_rel_pitch_down below and gaze_rel_pitch_up above it (degrees). The median is
    # refreshed every frame for the first gaze_ref_min_s, then every second.
    gaze_window_s: float = 600.0
    gaze_ref_min_s: float = 1.5
    gaze_off_weight: float = 0.5       # weight of a gaze outside the cone in that median
    gaze_rel_yaw: float = 25.0
    gaze_rel_pitch_down: float = 25.0
    gaze_rel_pitch_up: float = 20.0
    gaze_open_max: float = 0.4          # frames whose closure (against the open level) is above this do not teach it
    # Attention is "high" only when the on-screen share is within 0.1 of the person's own share
    # and of at least this (a baseline of looking away cannot make looking away "high" attention).
    attention_high_min: float = 0.75
    # Frown: brows lowered by >= frown_on of their baseline height (relative) for frown_min_s.
    frown_on: float = 0.10
    frown_off: float = 0.06
    frown_min_s: float = 1.0
    lip_press_on: float = 0.15          # lip thickness ratio this much (relative) below baseline = pressed
    # Smile: smile intensity above the baseline by smile_on for smile_min_s, or a broad smile
    # whatever the baseline (a person who smiles all along still smiles): the emotion model's
    # "happy" at least smile_happy, else (no emotion model) the blendshapes' mouthSmile at least
    # smile_mouth_bs. The same test tells a frown from a smile: brows that drop in a smile (the
    # cheeks push the eyes' lower lids up, so brows sit lower above the eye centres) are no frown
    # unless the blendshape model sees the brows themselves pulled down (browDown >= frown_brow_down).
    smile_on: float = 0.35
    smile_off: float = 0.2
    smile_min_s: float = 0.5
    smile_happy: float = 0.5
    smile_mouth_bs: float = 0.5
    frown_brow_down: float = 0.1
    # Nod: pitch down then up (or up then down) by nod_deg each, within nod_max_s.
    nod_deg: float = 7.0
    nod_max_s: float = 1.5
    # Head drop: pitch below the baseline pitch by head_drop_deg for head_drop_min_s.
    head_drop_deg: float = 15.0
    head_drop_min_s: float = 1.0
    # Windows.
    attention_window_s: float = 30.0
    fatigue_window_s: float = 60.0
    tension_window_s: float = 60.0
    recent_s: float = 5.0               # abstain when the face was poorly seen most of this
    state_interval_s: float = 0.2       # states are recomputed at most this often (and on every event)
    min_seen_share: float = 0.5
    min_quality: float = 0.5            # FaceSignals.quality below this = poorly seen
    min_state_s: float = 5.0            # states abstain until a track was seen this long
    max_gap_s: float = 0.5              # a longer gap in a track's frames resets its detectors
    # Baseline learning over the first minutes of each track (0 = never learn; use the given one).
    baseline_s: float = 120.0
    provisional_s: float = 10.0         # until then, population values; then the person's levels so far
    # A new track id appearing while exactly one known track is missing continues that person.
    reuse_lost_tracks: bool = True
    forget_s: float = 120.0             # a track unseen this long is dropped
    track_memory_s: float = 2.0         # the pipeline keeps an id this long (AnalyzerConfig.track_memory)
