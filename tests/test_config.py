"""AnalyzerConfig is the one source of every analysis setting: the CLI flags are built from its
fields (defaults and all), and bad values are refused with a message naming the setting."""
from __future__ import annotations

import pytest

from facial_feedback.cli import analyzer_config, build_parser, main
from facial_feedback.config import AnalyzerConfig


@pytest.mark.parametrize("command", [["video", "x.mp4"], ["webcam"], ["analyze", "x.jpg"]])
def test_cli_defaults_are_the_config_defaults(command):
    assert analyzer_config(build_parser().parse_args(command)) == AnalyzerConfig()


def test_every_video_setting_has_a_flag():
    ns = build_parser().parse_args(["video", "x.mp4", "--max-faces", "3", "--smoothing", "0",
                                    "--detect-interval", "0.25", "--track-memory", "1.5",
                                    "--min-face-score", "0.6", "--no-signals", "--emotion-labels", "ferplus"])
    assert analyzer_config(ns) == AnalyzerConfig(min_face_score=0.6, max_faces=3, emotion_smoothing=0.0,
                                                 track_memory=1.5, detect_interval=0.25, signals=False,
                                                 emotion_labels="ferplus")
    ns = build_parser().parse_args(["analyze", "x.jpg", "--min-face-score", "0.7", "--emotion-labels", "fer2013"])
    assert analyzer_config(ns).min_face_score == 0.7 and analyzer_config(ns).emotion_labels == "fer2013"


def test_bad_settings_say_which(capsys):
    with pytest.raises(ValueError, match="unknown analyzer option 'max_face'"):
        AnalyzerConfig.from_dict({"max_face": 4})
    with pytest.raises(ValueError, match="max_faces must be int"):
        AnalyzerConfig.from_dict({"max_faces": "4"})
    with pytest.raises(ValueError, match="detect_interval"):
        AnalyzerConfig(detect_interval=0)
    assert AnalyzerConfig.from_dict({"max_faces": 4, "detect_interval": 1}) == AnalyzerConfig(max_faces=4)
    with pytest.raises(ValueError, match="emotion_labels must be one of mixed, ferplus, fer2013, got 'fer'"):
        AnalyzerConfig.from_dict({"emotion_labels": "fer"})
    with pytest.raises(SystemExit) as e:
        main(["analyze", "x.jpg", "--emotion-labels", "affectnet"])
    assert e.value.code == 2 and "invalid choice: 'affectnet'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["video", "x.mp4", "--max-faces", "0"])
    assert e.value.code == 2 and "max_faces must be at least 1" in capsys.readouterr().err


def test_cli_and_batch_share_flags_without_importing_each_other():
    """Exit codes and the config builder live in facial_feedback.flags, below both: batch/ never
    imports the CLI (which runs it), and flags imports neither."""
    import ast
    from pathlib import Path

    import facial_feedback

    pkg = Path(facial_feedback.__file__).parent

    def imported(path: Path):
        tree = ast.parse(path.read_text())
        return {(n.level, n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    for f in (pkg / "batch").glob("*.py"):
        assert not any(mod.split(".")[0] == "cli" and level == 2 for level, mod in imported(f)), f
    assert {mod for level, mod in imported(pkg / "flags.py") if level} <= {"config"}
    from facial_feedback import cli, flags

    assert cli.analyzer_config is flags.analyzer_config and cli.EXIT_USAGE == flags.EXIT_USAGE == 2
